# MAILINIT_SANITIZE=address,undefined builds everything with those sanitizers (Redis SANITIZER=).
# MAILINIT_FUZZ=ON adds libFuzzer targets (clang only).
if(MAILINIT_SANITIZE)
        add_compile_options(-fsanitize=${MAILINIT_SANITIZE} -fno-omit-frame-pointer
                            -fno-sanitize-recover=all)
        add_link_options(-fsanitize=${MAILINIT_SANITIZE})
endif()
if(MAILINIT_FUZZ)
        if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
                message(FATAL_ERROR "MAILINIT_FUZZ needs clang (CC=clang)")
        endif()
        add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
        add_link_options(-fsanitize=address,undefined)
endif()
