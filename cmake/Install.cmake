# Install rules (GNUInstallDirs): the binary, the setgid postdrop helper (a copy of the same
# binary; the packages give it root:mailinit-drop 2755), the systemd units, the sysusers.d and
# tmpfiles.d snippets, the preset, the man page and a commented default mailinit.conf.
# The sendmail/mailq/newaliases links belong to the packages (alternatives on RPM, the
# mailinit-mta package on Debian).
include(GNUInstallDirs)

# systemd's directories: from systemd.pc when it is there, else the usual ones under the prefix.
pkg_check_modules(SYSTEMD_PC QUIET systemd)
function(mailinit_systemd_dir var pcvar fallback doc)
        if(NOT DEFINED ${var})
                set(value "${CMAKE_INSTALL_PREFIX}/${fallback}")
                if(SYSTEMD_PC_FOUND)
                        pkg_get_variable(from_pc systemd ${pcvar})
                        if(from_pc)
                                set(value "${from_pc}")
                        endif()
                endif()
                set(${var} "${value}" CACHE PATH "${doc}")
        endif()
endfunction()
mailinit_systemd_dir(SYSTEMD_UNITDIR systemdsystemunitdir lib/systemd/system
        "Where the systemd units go")
mailinit_systemd_dir(SYSTEMD_PRESETDIR systemdsystempresetdir lib/systemd/system-preset
        "Where the systemd preset goes")
mailinit_systemd_dir(SYSUSERS_DIR sysusersdir lib/sysusers.d "Where the sysusers.d snippet goes")
mailinit_systemd_dir(TMPFILES_DIR tmpfilesdir lib/tmpfiles.d "Where the tmpfiles.d snippet goes")

install(TARGETS mailinit RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
# A fixed path (design: sendmail execs /usr/libexec/mailinit/postdrop), whatever LIBEXECDIR says.
install(PROGRAMS $<TARGET_FILE:mailinit> DESTINATION libexec/mailinit RENAME postdrop
        PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                    WORLD_READ WORLD_EXECUTE SETGID)
install(FILES units/mailinit-firstboot.service units/mailinit-relay.service
              units/mailinit-relay.socket
        DESTINATION ${SYSTEMD_UNITDIR})
install(FILES units/mailinit.preset DESTINATION ${SYSTEMD_PRESETDIR} RENAME 80-mailinit.preset)
install(FILES units/mailinit.sysusers DESTINATION ${SYSUSERS_DIR} RENAME mailinit.conf)
install(FILES units/mailinit.tmpfiles DESTINATION ${TMPFILES_DIR} RENAME mailinit.conf)
install(FILES docs/mailinit.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES packaging/mailinit.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/mailinit)
