# Installation: headers, static libraries, a CMake package and a pkg-config file.
# Included last by the top-level CMakeLists.txt, once every library target exists.
#
#   <prefix>/include/xstack/<folder>/*.h         installed by xstack_library() itself
#   <prefix>/include/xstack/config.h             the generated configuration header
#   <prefix>/lib/libxstack_<folder>.a
#   <prefix>/lib/cmake/xstack/xstack{Config,ConfigVersion,Targets*}.cmake
#   <prefix>/lib/pkgconfig/xstack.pc
#
# Consumers: find_package(xstack) then link xstack::xstack (or xstack::<folder>), or use
# `pkg-config --cflags --libs xstack`. Nothing here hard-codes a folder: the libraries come from
# XSTACK_LIBRARIES (filled by xstack_library in dependency order) and their third-party
# dependencies from what each library links.
#
# Warning and sanitizer flags live in xstack_build_flags, which the libraries link only through
# $<BUILD_INTERFACE:...>; it is not exported, so consumers never inherit -Werror or -fsanitize.
# A sanitized build (asan preset) installs instrumented libraries: the consumer must then compile
# and link with the same -fsanitize flags; xstackConfig.cmake sets xstack_SANITIZE and xstack.pc
# has a `sanitize` variable saying which.

include(CMakePackageConfigHelpers)

set(XSTACK_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/xstack"
    CACHE STRING "Where xstackConfig.cmake is installed, relative to the prefix")
set(XSTACK_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where xstack.pc is installed, relative to the prefix")

# --- what to install and export ----------------------------------------------------------------
set(_xs_install_targets ${XSTACK_EXPORTED_TARGETS})
list(REMOVE_ITEM _xs_install_targets xstack_build_flags)
list(REMOVE_DUPLICATES _xs_install_targets)

# Static libraries need their dependencies after them on a link line. XSTACK_LIBRARIES is in
# add_subdirectory order, which follows the one-way dependency rule; check it, so that a folder
# added out of order fails here instead of producing a .pc with a broken link order.
set(_xs_seen "")
set(_xs_pc_libs "")
set(_xs_third_party "")
foreach(_lib IN LISTS XSTACK_LIBRARIES)
  get_target_property(_deps ${_lib} LINK_LIBRARIES)
  if(NOT _deps)
    set(_deps "")
  endif()
  foreach(_dep IN LISTS _deps)
    if(_dep MATCHES "^xstack::([a-z_]+)$")
      if(NOT "xstack_${CMAKE_MATCH_1}" IN_LIST _xs_seen)
        message(FATAL_ERROR "${_lib} depends on ${_dep}, which is added after it: add the "
                            "folders in dependency order (see the top-level CMakeLists.txt)")
      endif()
    elseif(_dep MATCHES "OpenSSL::(SSL|Crypto)")
      list(APPEND _xs_third_party OpenSSL)
    elseif(_dep MATCHES "Threads::Threads")
      list(APPEND _xs_third_party Threads)
    endif()
  endforeach()
  list(APPEND _xs_seen ${_lib})
  get_target_property(_out ${_lib} OUTPUT_NAME)
  list(PREPEND _xs_pc_libs "-l${_out}")
endforeach()
list(REMOVE_DUPLICATES _xs_third_party)

install(TARGETS ${_xs_install_targets}
  EXPORT xstackTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Include directories come from each library's $<INSTALL_INTERFACE:...> (xstack_library).

# The code includes it as "xstack/config.h"; <prefix>/include is on the include path.
install(FILES ${PROJECT_BINARY_DIR}/gen/xstack/config.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/xstack)

# --- CMake package -----------------------------------------------------------------------------
install(EXPORT xstackTargets
  NAMESPACE xstack::
  FILE xstackTargets.cmake
  DESTINATION ${XSTACK_INSTALL_CMAKEDIR})

set(XSTACK_CONFIG_DEPENDENCIES "")
if(XS_HAVE_OPENSSL OR "OpenSSL" IN_LIST _xs_third_party)
  string(APPEND XSTACK_CONFIG_DEPENDENCIES
    "find_dependency(OpenSSL 3.0 COMPONENTS SSL Crypto)\n")
endif()
if("Threads" IN_LIST _xs_third_party)
  string(APPEND XSTACK_CONFIG_DEPENDENCIES
    "find_dependency(Threads)\n")
endif()

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/xstackConfig.cmake.in
  ${PROJECT_BINARY_DIR}/install/xstackConfig.cmake
  INSTALL_DESTINATION ${XSTACK_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/install/xstackConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/install/xstackConfig.cmake
  ${PROJECT_BINARY_DIR}/install/xstackConfigVersion.cmake
  DESTINATION ${XSTACK_INSTALL_CMAKEDIR})

# --- pkg-config ---------------------------------------------------------------------------------
# Relocatable: paths are relative to the .pc file, so `cmake --install --prefix DIR` works for any
# DIR without reconfiguring.
if(IS_ABSOLUTE "${XSTACK_INSTALL_PKGCONFIGDIR}")
  set(XSTACK_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _xs_up "/_root/${XSTACK_INSTALL_PKGCONFIGDIR}" "/_root")
  string(REGEX REPLACE "/$" "" _xs_up "${_xs_up}")
  set(XSTACK_PC_PREFIX "\${pcfiledir}/${_xs_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(XSTACK_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(XSTACK_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
list(JOIN _xs_pc_libs " " XSTACK_PC_LIBS)
set(XSTACK_PC_REQUIRES "")
if("OpenSSL" IN_LIST _xs_third_party)
  # Static libraries: OpenSSL must be on the consumer's link line, so Requires, not .private.
  set(XSTACK_PC_REQUIRES "libssl libcrypto")
endif()
if("Threads" IN_LIST _xs_third_party)
  string(APPEND XSTACK_PC_LIBS " -pthread")
endif()
list(JOIN XSTACK_SANITIZE "," XSTACK_PC_SANITIZE)
configure_file(${PROJECT_SOURCE_DIR}/cmake/xstack.pc.in ${PROJECT_BINARY_DIR}/install/xstack.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/install/xstack.pc DESTINATION ${XSTACK_INSTALL_PKGCONFIGDIR})

unset(_xs_install_targets)
unset(_xs_seen)
unset(_xs_pc_libs)
unset(_xs_third_party)
unset(_xs_up)
