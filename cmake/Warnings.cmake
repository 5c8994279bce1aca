# Compiler warnings and hardening flags (curl PickyWarnings style).
include(CheckCCompilerFlag)

set(MAILINIT_WARNING_FLAGS
    -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wold-style-definition -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla
    -Wimplicit-fallthrough -Wnull-dereference -Wswitch-enum -fno-common
    -Werror=implicit-function-declaration -Werror=incompatible-pointer-types
    -Werror=int-conversion)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
        list(APPEND MAILINIT_WARNING_FLAGS -Wduplicated-cond -Wlogical-op)
endif()
if(MAILINIT_WERROR)
        list(APPEND MAILINIT_WARNING_FLAGS -Werror)
endif()

set(MAILINIT_HARDENING_FLAGS -fstack-protector-strong -fstack-clash-protection)
check_c_compiler_flag(-fcf-protection MAILINIT_HAVE_CF_PROTECTION)
if(MAILINIT_HAVE_CF_PROTECTION)
        list(APPEND MAILINIT_HARDENING_FLAGS -fcf-protection)
endif()
# _FORTIFY_SOURCE needs optimisation; sanitizer and fuzz builds leave it out.
if(NOT MAILINIT_SANITIZE AND NOT MAILINIT_FUZZ AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
        list(APPEND MAILINIT_HARDENING_FLAGS -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
endif()

add_compile_options(${MAILINIT_WARNING_FLAGS} ${MAILINIT_HARDENING_FLAGS})
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_link_options(-Wl,-z,relro,-z,now)
