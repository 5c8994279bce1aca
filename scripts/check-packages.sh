#!/usr/bin/env bash
# Check the units and build the packages from a tarball of the checkout (git archive):
#  1. the version agrees in CMakeLists.txt, the RPM spec, debian/changelog and mailinit(8);
#  2. `systemd-analyze verify` on every unit as the .deb installs it (with its binary and man
#     page, in a root holding Debian's own units), `systemd-analyze security --offline=yes`
#     printed for both services, failing when the relay's exposure is above 2.0;
#  3. `dpkg-buildpackage -us -uc -b` and lintian (no error, no unexplained warning);
#  4. `rpmbuild -bb` (--nodeps: the BuildRequires are checked here against their Debian
#     names) and rpmlint (no error, no unexplained warning);
#  5. installs the mailinit .deb, runs `mailinit --version` and `man -w mailinit` from it,
#     checks the user, groups and directories it creates and that mailinit-mta would replace
#     Postfix (simulated: the test suite needs Postfix), then purges it and removes the
#     user and groups it created, leaving the machine as it found it.
# Usage: scripts/check-packages.sh   (as root on Debian 12; output in build-packages/)
# Uncommitted changes to tracked files are included (git stash create); new files must be
# added to git first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build-packages
rm -rf "$out"
mkdir -p "$out"

fail() {
	echo "check-packages: $*" >&2
	exit 1
}

echo "== packages: versions"
version=$(sed -n 's/^project(mailinit VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || fail "no project(mailinit VERSION ...) in CMakeLists.txt"
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' packaging/rpm/mailinit.spec)
deb_version=$(sed -n '1s/^mailinit (\([^)-]*\)-[^)]*).*/\1/p' packaging/debian/changelog)
man_version=$(sed -n 's/^\.TH MAILINIT 8 "[^"]*" "mailinit \([^"]*\)".*/\1/p' docs/mailinit.8)
for v in "spec:$spec_version" "debian/changelog:$deb_version" "mailinit.8:$man_version"; do
	[ "${v#*:}" = "$version" ] || fail "version ${v#*:} in ${v%%:*} differs from CMakeLists.txt's $version"
done
echo "version $version (CMakeLists.txt, mailinit.spec, debian/changelog, mailinit.8)"

tree=$(git stash create 2>/dev/null || true)
tarball=$out/mailinit-$version.tar.gz
git archive --format=tar.gz --prefix="mailinit-$version/" -o "$tarball" "${tree:-HEAD}"

echo "== packages: Debian (dpkg-buildpackage, lintian)"
mkdir -p "$out/deb"
tar -xzf "$tarball" -C "$out/deb"
src=$out/deb/mailinit-$version
cp -r "$src/packaging/debian" "$src/debian"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" dpkg-buildpackage -us -uc -b) \
	>"$out/deb/build.log" 2>&1 || { tail -40 "$out/deb/build.log"; fail "dpkg-buildpackage failed"; }
deb=$out/deb/mailinit_$version-1_$(dpkg --print-architecture).deb
deb_mta=$out/deb/mailinit-mta_$version-1_$(dpkg --print-architecture).deb
if [ ! -f "$deb" ] || [ ! -f "$deb_mta" ]; then
	fail "dpkg-buildpackage made no mailinit/mailinit-mta .deb"
fi
dpkg-deb -c "$deb_mta" >"$out/deb/mta.contents"
for link in './usr/sbin/sendmail -> mailinit' './usr/lib/sendmail -> ../sbin/sendmail' \
	'./usr/bin/mailq -> ../sbin/mailinit' './usr/bin/newaliases -> ../sbin/mailinit'; do
	grep -qF -- "$link" "$out/deb/mta.contents" || fail "mailinit-mta.deb lacks $link"
done
[ "$(dpkg-deb -f "$deb_mta" Provides)" = mail-transport-agent ] ||
	fail "mailinit-mta.deb does not provide mail-transport-agent"
# libcurl is dlopened (common/curl_library.c): shlibdeps cannot see it, control names it
dpkg-deb -f "$deb" Depends | grep -q 'libcurl4 (>= 7.85)' ||
	fail "mailinit.deb does not depend on libcurl4 (it is loaded with dlopen)"
dpkg-deb -I "$deb_mta" postinst | grep -q 'dpkg-statoverride --update --add root mailinit-drop 2755' ||
	fail "mailinit-mta.deb does not make postdrop setgid mailinit-drop"
# Errors and warnings fail; the warnings that do not apply are overridden with a reason in
# packaging/debian/*.lintian-overrides.
lintian --fail-on error,warning --allow-root "$out"/deb/mailinit_*.changes ||
	fail "lintian found errors or warnings"

echo "== packages: RPM for Amazon Linux 2023 (rpmbuild, rpmlint)"
# The spec's BuildRequires carry Amazon Linux's names; rpm has no database of Debian's
# packages, so each must have its Debian counterpart installed (then rpmbuild --nodeps).
declare -A debian_name=(
	[cmake]=cmake [gcc]=gcc [make]=make [pkgconf-pkg-config]=pkg-config
	[libcurl-devel]=libcurl4-openssl-dev [jansson-devel]=libjansson-dev
	[openssl-devel]=libssl-dev [cyrus-sasl-devel]=libsasl2-dev
	[systemd-devel]=libsystemd-dev [zlib-devel]=zlib1g-dev
	# The systemd macros: stand-ins in packaging/rpm/debian-ci.macros.
	[systemd-rpm-macros]=systemd
)
while read -r req; do
	name=${debian_name[$req]:-}
	[ -n "$name" ] || fail "BuildRequires: $req has no Debian counterpart in check-packages.sh"
	dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' ||
		fail "BuildRequires: $req (Debian: $name) is not installed"
done < <(sed -n 's/^BuildRequires:[[:space:]]*\([^[:space:]]*\).*/\1/p' packaging/rpm/mailinit.spec)
rpmtop=$out/rpm
mkdir -p "$rpmtop/SOURCES"
cp "$tarball" "$rpmtop/SOURCES/"
tar -xzOf "$tarball" "mailinit-$version/units/mailinit.sysusers" >"$rpmtop/SOURCES/mailinit.sysusers"
tar -xzOf "$tarball" "mailinit-$version/packaging/rpm/mailinit.spec" >"$rpmtop/mailinit.spec"
tar -xzOf "$tarball" "mailinit-$version/packaging/rpm/debian-ci.macros" >"$rpmtop/debian-ci.macros"
rpmbuild --define "_topdir $rpmtop" --load "$rpmtop/debian-ci.macros" --nodeps -bb \
	"$rpmtop/mailinit.spec" >"$rpmtop/build.log" 2>&1 ||
	{ tail -40 "$rpmtop/build.log"; fail "rpmbuild failed"; }
rpms=("$rpmtop"/RPMS/*/mailinit-"$version"-*.rpm "$rpmtop"/RPMS/*/mailinit-mta-"$version"-*.rpm)
if [ ! -f "${rpms[0]}" ] || [ ! -f "${rpms[1]}" ]; then
	fail "rpmbuild made no mailinit/mailinit-mta .rpm"
fi
# rpmlint exits non-zero on errors; warnings are made fatal by -s and the ones that do not
# apply are filtered with a reason in packaging/rpm/rpmlint.toml.
rpmlint -s -c packaging/rpm/rpmlint.toml "${rpms[@]}" "$rpmtop/mailinit.spec" ||
	fail "rpmlint found errors or warnings"
rpm -qp --requires "${rpms[0]}" | grep -q '^libcurl(x86-64) >= 7.85' ||
	fail "mailinit.rpm does not require libcurl (it is loaded with dlopen)"
rpm -qp --scripts "${rpms[1]}" | grep -q 'alternatives --install /usr/sbin/sendmail mta' ||
	fail "mailinit-mta does not register sendmail with alternatives"
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "${rpms[1]}" |
	grep -qx -- '-rwxr-sr-x root:mailinit-drop /usr/libexec/mailinit/postdrop' ||
	fail "mailinit-mta.rpm: /usr/libexec/mailinit/postdrop is not root:mailinit-drop 2755"

echo "== units: systemd-analyze verify and security"
# A root with Debian's own units (the targets the units refer to), /bin/kill, and both
# packages unpacked: the units are checked as installed, with their ExecStart= binary.
root=$out/root
mkdir -p "$root/usr/lib/systemd" "$root/bin" "$root/etc/systemd/system"
cp -a /lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/"
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$deb_mta" "$root"
units=(mailinit-firstboot.service mailinit-relay.service mailinit-relay.socket)
for u in "${units[@]}"; do
	[ -f "$root/lib/systemd/system/$u" ] || fail "the packages do not install $u"
done
# Documentation=man:mailinit(8) is looked up with man(1), in the unpacked packages. verify
# exits 0 after a setting it could not parse ("..., ignoring"): any message is a failure.
verify_log=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" "${units[@]}" 2>&1) ||
	fail "systemd-analyze verify failed: $verify_log"
[ -z "$verify_log" ] || fail "systemd-analyze verify: $verify_log"
echo "systemd-analyze verify: ${units[*]}: ok"
for u in mailinit-firstboot.service mailinit-relay.service; do
	systemd-analyze security --offline=yes --root="$root" "$u" 2>&1 | grep -E '^(✗|→)' || true
done
systemd-analyze security --offline=yes --root="$root" --threshold=20 mailinit-relay.service \
	>/dev/null 2>&1 || fail "mailinit-relay.service: exposure above 2.0"

echo "== packages: install the .deb, run it, purge it"
had_user=$(getent passwd mailinit >/dev/null && echo yes || echo no)
had_group=$(getent group mailinit >/dev/null && echo yes || echo no)
had_drop=$(getent group mailinit-drop >/dev/null && echo yes || echo no)
echo "before: user mailinit $had_user, group mailinit $had_group, group mailinit-drop $had_drop"
cleanup() {
	dpkg --purge mailinit >/dev/null 2>&1 || true
	[ "$had_user" = yes ] || userdel mailinit >/dev/null 2>&1 || true
	[ "$had_group" = yes ] || groupdel mailinit >/dev/null 2>&1 || true
	[ "$had_drop" = yes ] || groupdel mailinit-drop >/dev/null 2>&1 || true
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "$deb" >"$out/install.log" 2>&1 ||
	{ cat "$out/install.log"; fail "the mailinit .deb does not install"; }
[ "$(command -v mailinit)" = /usr/sbin/mailinit ] || fail "mailinit is not /usr/sbin/mailinit"
got=$(mailinit --version)
[ "$got" = "mailinit $version" ] || fail "mailinit --version says '$got', expected 'mailinit $version'"
echo "$got"
page=$(man -w mailinit)
[ "$page" = /usr/share/man/man8/mailinit.8.gz ] || fail "man -w mailinit: '$page'"
echo "man -w mailinit: $page"
getent passwd mailinit >/dev/null || fail "the package did not create the user mailinit"
getent group mailinit-drop >/dev/null || fail "the package did not create the group mailinit-drop"
[ "$(stat -c '%U:%G %a' /var/spool/mailinit)" = "mailinit:mailinit 700" ] ||
	fail "/var/spool/mailinit: $(stat -c '%U:%G %a' /var/spool/mailinit)"
[ "$(stat -c '%U:%G %a' /var/spool/mailinit/maildrop)" = "mailinit:mailinit-drop 1730" ] ||
	fail "/var/spool/mailinit/maildrop: $(stat -c '%U:%G %a' /var/spool/mailinit/maildrop)"
[ "$(stat -c '%U:%G %a' /var/lib/mailinit)" = "root:root 700" ] ||
	fail "/var/lib/mailinit: $(stat -c '%U:%G %a' /var/lib/mailinit)"
[ -L /etc/systemd/system/multi-user.target.wants/mailinit-firstboot.service ] ||
	fail "mailinit-firstboot.service is not enabled"
echo "installed: user mailinit, group mailinit-drop, spool, state, mailinit-firstboot enabled"
# mailinit-mta is the system MTA: installing it must replace Postfix (simulated only).
apt-get install --simulate -qq "$deb_mta" 2>&1 | grep -q '^Remv postfix ' ||
	fail "installing mailinit-mta would not replace postfix (Conflicts: mail-transport-agent)"
echo "mailinit-mta replaces postfix (simulated)"
dpkg --purge mailinit >/dev/null
for left in /usr/sbin/mailinit /var/spool/mailinit /var/lib/mailinit /etc/mailinit; do
	[ ! -e "$left" ] || fail "purge left $left behind"
done
cleanup
trap - EXIT
echo "== packages: ok (build-packages/deb, build-packages/rpm)"
