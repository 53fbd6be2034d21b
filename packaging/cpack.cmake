# The Debian package (scripts/package: cpack -G DEB in build-pkg/). Included from the top-level
# CMakeLists.txt after the install rules (packaging/CMakeLists.txt).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME roster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "roster")
set(CPACK_PACKAGE_CONTACT "roster maintainers <roster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "membership and failure-detection service with consensus-backed views")
set(CPACK_PACKAGE_DESCRIPTION
    "rosterd watches the nodes of a cluster with phi-accrual failure detectors. A fixed group of\n"
    "voters agrees through Raft on a numbered sequence of membership views, which every node and\n"
    "subscriber receives in order. rosterctl asks a rosterd about the views. The package holds\n"
    "rosterd, rosterctl, a hardened systemd unit, the example configuration /etc/roster/rosterd.toml,\n"
    "the Grafana dashboard and Prometheus rules, man pages and bash completion.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # roster_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The runtime libraries (libzmq5, libspdlog, libprometheus-cpp, libsqlite3, libsodium through
# libzmq5, ...) from the binaries, by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
# And /bin/kill for the unit's ExecReload; systemd runs the service (rosterd runs without it too).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
# The maintainer scripts and the conffile list (packaging/debian).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Installed under /usr, with DESTDIR, so that the install rules see the prefix /usr (and put the
# configuration in /etc, the unit's ExecStart at /usr/bin/rosterd).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
