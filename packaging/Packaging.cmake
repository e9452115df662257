# Packaging.cmake: install rules beyond the plugin, CPack settings for the
# Debian (.deb) and RPM packages, and the tests of packaging and of other
# Wireshark versions. Included once, at the end of the top CMakeLists.txt,
# so the plugin target, PM_VERSION and enable_testing() already exist.
#
#   cmake -S . -B build && cmake --build build
#   cd build && cpack -G DEB     # packetmancer_<version>_<arch>.deb
#   cd build && cpack -G RPM     # packetmancer-<version>-1.<arch>.rpm (needs rpmbuild)
#
# packaging/README.md explains the choices; packaging/release.sh makes a
# release from them.

include_guard(GLOBAL)

# ------------------------------------------------------------ where to
# The plugin goes where the top CMakeLists.txt puts it: Wireshark's global
# plugin folder, ${Wireshark_PLUGIN_INSTALL_DIR}/epan, an absolute path in
# Wireshark's own prefix (not CMAKE_INSTALL_PREFIX), because that is the
# only global folder Wireshark scans. The profile belongs to Wireshark the
# same way: global profiles live in its data folder (tshark -G folders,
# "Global configuration"). The command, man page and docs are ours and
# follow CMAKE_INSTALL_PREFIX (/usr in the packages).
set(PM_WIRESHARK_DATA_DIR "${Wireshark_INSTALL_PREFIX}/share/wireshark"
    CACHE PATH "Wireshark's global data folder (global profiles go in its profiles/)")
set(PM_DOC_DIR "share/doc/packetmancer")

install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${PROJECT_SOURCE_DIR}/LICENSE"
        DESTINATION "${PM_DOC_DIR}")

# ---- hooks for files other issues add; each is skipped while absent, so
# the packages build without them. Re-run cmake after adding one.
# The `packetmancer` command, as a plain script. (A configured
# tools/packetmancer.in is installed by tools/CMakeLists.txt instead; this
# hook then stays idle.)
if(EXISTS "${PROJECT_SOURCE_DIR}/tools/packetmancer")
  install(PROGRAMS "${PROJECT_SOURCE_DIR}/tools/packetmancer" DESTINATION bin)
endif()
# Its man page.
if(EXISTS "${PROJECT_SOURCE_DIR}/docs/packetmancer.1")
  install(FILES "${PROJECT_SOURCE_DIR}/docs/packetmancer.1" DESTINATION share/man/man1)
endif()
# The Wireshark configuration profile (colouring rules, columns...), as a
# global profile that every user sees in Wireshark's profile list.
if(EXISTS "${PROJECT_SOURCE_DIR}/profiles/PacketMancer")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/profiles/PacketMancer"
          DESTINATION "${PM_WIRESHARK_DATA_DIR}/profiles")
endif()

# ------------------------------------------------------- the ABI pinned
# A plugin only loads into the Wireshark major.minor it was built for, and
# libwireshark's soname changes with every minor release. So the package
# depends on the very library package the build links (libwireshark16 on
# Debian 12), from this patch release up to, not including, the next minor.
# The name is asked of dpkg rather than guessed, because the soname-based
# name is only a Debian convention; the guess is the fallback.
set(_pm_epan_lib "")
get_target_property(_pm_epan_cfgs epan IMPORTED_CONFIGURATIONS)
foreach(_cfg IN LISTS _pm_epan_cfgs)
  get_target_property(_pm_epan_lib epan IMPORTED_LOCATION_${_cfg})
  if(_pm_epan_lib)
    get_target_property(_pm_epan_soname epan IMPORTED_SONAME_${_cfg})
    break()
  endif()
endforeach()
if(NOT _pm_epan_lib)
  get_target_property(_pm_epan_lib epan IMPORTED_LOCATION)
  get_target_property(_pm_epan_soname epan IMPORTED_SONAME)
endif()

math(EXPR _pm_next_minor "${Wireshark_MINOR_VERSION} + 1")
set(_pm_ws_min "${Wireshark_MAJOR_VERSION}.${Wireshark_MINOR_VERSION}.${Wireshark_PATCH_VERSION}")
# "~" sorts before anything, so 4.1~rc1 is excluded too.
set(_pm_ws_next "${Wireshark_MAJOR_VERSION}.${_pm_next_minor}~")

find_program(PM_DPKG_QUERY dpkg-query)
set(_pm_libpkg "")
if(PM_DPKG_QUERY AND _pm_epan_lib)
  get_filename_component(_pm_epan_real "${_pm_epan_lib}" REALPATH)
  execute_process(COMMAND "${PM_DPKG_QUERY}" -S "${_pm_epan_real}"
                  OUTPUT_VARIABLE _pm_owner ERROR_QUIET RESULT_VARIABLE _pm_rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  # "libwireshark16:amd64: /usr/lib/x86_64-linux-gnu/libwireshark.so.16.0.17"
  if(_pm_rc EQUAL 0 AND _pm_owner MATCHES "^([^:, ]+)")
    set(_pm_libpkg "${CMAKE_MATCH_1}")
  endif()
endif()
if(NOT _pm_libpkg AND _pm_epan_soname MATCHES "^libwireshark\\.so\\.([0-9]+)$")
  set(_pm_libpkg "libwireshark${CMAKE_MATCH_1}")
  message(STATUS "Packaging: ${_pm_epan_lib} belongs to no Debian package; "
                 "guessing the dependency ${_pm_libpkg} from its soname")
endif()
if(_pm_libpkg)
  set(PM_DEB_DEPENDS "${_pm_libpkg} (>= ${_pm_ws_min}), ${_pm_libpkg} (<< ${_pm_ws_next})")
else()
  set(PM_DEB_DEPENDS "")
  message(WARNING "Packaging: cannot tell which package provides libwireshark "
                  "(${_pm_epan_lib}); the .deb will not pin the Wireshark ABI")
endif()
message(STATUS "Packaging: the .deb depends on: ${PM_DEB_DEPENDS}")

# ------------------------------------------------------------------ CPack
set(PM_PACKAGE_MAINTAINER "The PacketMancer authors <packetmancer@localhost>"
    CACHE STRING "Maintainer field of the packages (set a real address for releases)")

set(CPACK_PACKAGE_NAME "packetmancer")
set(CPACK_PACKAGE_VERSION "${PM_VERSION}")
set(CPACK_PACKAGE_VENDOR "The PacketMancer authors")
set(CPACK_PACKAGE_CONTACT "${PM_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Wireshark plugin that scores TCP conversations by health")
set(CPACK_PACKAGE_DESCRIPTION
"PacketMancer is a Wireshark/tshark plugin (epan postdissector). It scores
every TCP conversation of a capture by health, from Wireshark's own TCP
analysis, ranks them by severity with plain-language reasons, and reports
them with tshark -z packetmancer,report|json|tree and as packetmancer.*
fields. Built for Wireshark ${Wireshark_MAJOR_VERSION}.${Wireshark_MINOR_VERSION}.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_RESOURCE_FILE_README "${PROJECT_SOURCE_DIR}/README.md")
# Release packages carry no debug information, like distribution packages.
set(CPACK_STRIP_FILES TRUE)
# The plugin's destination is absolute (Wireshark's folder, see above).
# With DESTDIR, CPack stages absolute and prefix-relative files alike under
# its temporary root; without it, absolute paths would be written to the
# real system during packaging.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")

set(_pm_generators "")
find_program(PM_DPKG_DEB dpkg-deb)
find_program(PM_RPMBUILD rpmbuild)

# ---- Debian
if(PM_DPKG_DEB)
  list(APPEND _pm_generators DEB)
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE PM_DEB_ARCH
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${PM_DEB_ARCH}")
  set(CPACK_DEBIAN_FILE_NAME "packetmancer_${PM_VERSION}_${PM_DEB_ARCH}.deb")
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PM_PACKAGE_MAINTAINER}")
  set(CPACK_DEBIAN_PACKAGE_SECTION "net")
  set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${PM_DEB_DEPENDS}")
  # tshark or Wireshark is what loads the plugin; the packetmancer command
  # runs tshark, and python3 reads the JSON for its --fail-on.
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "tshark, python3")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "wireshark")
  # dpkg-shlibdeps adds libc6, libglib2.0-0, libwsutil..., as Debian's own
  # packages do; our pin above is stricter for libwireshark itself.
  find_program(PM_DPKG_SHLIBDEPS dpkg-shlibdeps)
  if(PM_DPKG_SHLIBDEPS)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  endif()
  set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endif()

# ---- RPM (CPack's RPM generator writes the spec and runs rpmbuild)
if(PM_RPMBUILD)
  list(APPEND _pm_generators RPM)
  set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
  set(CPACK_RPM_PACKAGE_RELEASE "1")
  set(CPACK_RPM_PACKAGE_LICENSE "MIT")
  set(CPACK_RPM_PACKAGE_GROUP "Applications/Internet")
  set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
  # The plugin must be where Wireshark looks; nothing to relocate.
  set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
  # rpmbuild's automatic requirements already name libwireshark.so.NN, which
  # pins the ABI on every RPM distribution. The package that carries it has
  # no common name (Fedora: wireshark-cli, openSUSE: libwiresharkNN), so an
  # explicit requirement is a setting, empty by default.
  set(PM_RPM_REQUIRES "" CACHE STRING
      "Extra RPM Requires, e.g. \"wireshark-cli >= ${_pm_ws_min}, wireshark-cli < ${Wireshark_MAJOR_VERSION}.${_pm_next_minor}\" on Fedora")
  if(PM_RPM_REQUIRES)
    set(CPACK_RPM_PACKAGE_REQUIRES "${PM_RPM_REQUIRES}")
  endif()
  # Do not claim Wireshark's folders (or the distribution's): an RPM owning
  # them would make rpm -e try to remove them.
  set(_pm_noown "")
  foreach(_d "${Wireshark_PLUGIN_INSTALL_DIR}/epan" "${PM_WIRESHARK_DATA_DIR}/profiles")
    while(NOT _d STREQUAL "/" AND NOT _d STREQUAL "")
      list(APPEND _pm_noown "${_d}")
      get_filename_component(_d "${_d}" DIRECTORY)
    endwhile()
  endforeach()
  list(APPEND _pm_noown /usr/share/man /usr/share/man/man1 /usr/share/doc /usr/bin)
  list(REMOVE_DUPLICATES _pm_noown)
  set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION ${_pm_noown})
endif()

if(NOT _pm_generators)
  set(_pm_generators TGZ)
endif()
set(CPACK_GENERATOR "${_pm_generators}")
include(CPack)
message(STATUS "Packaging: cpack generators: ${_pm_generators}")

# -------------------------------------------------------------- tests
if(PM_BUILD_TESTS)
  # The installed package is tested on the machine itself: dpkg -i, tshark
  # from the installed files, dpkg -r. That needs root and dpkg, which CI
  # has (it runs as root in a throwaway container), so the test is on by
  # default exactly there. A developer running ctest as a normal user does
  # not get it (it could only skip). Running the suite as root on one's own
  # machine does install the package for a few seconds; the script refuses
  # if anything of PacketMancer is already in Wireshark's global folder and
  # removes what it installed, even on failure. Turn it off with
  # -DPM_TEST_INSTALL=OFF.
  execute_process(COMMAND id -u OUTPUT_VARIABLE _pm_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  find_program(PM_DPKG dpkg)
  if(_pm_uid STREQUAL "0" AND PM_DPKG AND PM_DPKG_DEB)
    set(_pm_install_default ON)
  else()
    set(_pm_install_default OFF)
  endif()
  option(PM_TEST_INSTALL "Test installing the .deb on this machine (needs root)" ${_pm_install_default})

  if(PM_TEST_INSTALL)
    add_test(NAME install_deb
      COMMAND "${PROJECT_SOURCE_DIR}/tests/test_install.sh"
              --build-dir "${PROJECT_BINARY_DIR}" --cpack "${CMAKE_CPACK_COMMAND}"
              --version "${PM_VERSION}"
              --wireshark-version "${Wireshark_MAJOR_VERSION}.${Wireshark_MINOR_VERSION}"
      WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
    # While installed, packetmancer.so sits in the global plugin folder, and
    # tests staging their own copy in a personal folder would load two.
    set_tests_properties(install_deb PROPERTIES
      RUN_SERIAL TRUE SKIP_RETURN_CODE 77 TIMEOUT 600)
  endif()

  # Compiles against the Wireshark 4.4 (trixie) and 4.6 (sid) headers,
  # downloaded once into the build folder. Skipped, not failed, when the
  # Debian registry cannot be reached and nothing is cached.
  set(PM_HEADER_CACHE "${PROJECT_BINARY_DIR}/wireshark-headers"
      CACHE PATH "Where tests/compile_newer.sh keeps downloaded Wireshark headers")
  add_test(NAME compile_wireshark_4.4_4.6
    COMMAND "${PROJECT_SOURCE_DIR}/tests/compile_newer.sh" --cache "${PM_HEADER_CACHE}"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  set_tests_properties(compile_wireshark_4.4_4.6 PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()
