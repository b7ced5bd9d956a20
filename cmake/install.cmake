# `cmake --install` for outside projects: the Kafka client libraries (kafka/, the part of Sluice
# anyone can use alone) with their headers, a CMake package (find_package(Sluice), targets
# Sluice::kafka_producer, Sluice::kafka_consumer, ...), a pkg-config file (sluice-kafka.pc) and
# the `sluice` binary. The stream-processing libraries are not installed yet.
#
# Headers go to <prefix>/include/sluice/kafka/..., and only <prefix>/include is put on an outside
# project's include path, so nothing named kafka/ sits at the top of it to collide with another
# library's headers (modern-cpp-kafka installs a kafka/ folder, for one). In the repo the headers
# include each other from the repo root ("kafka/client/cluster.hpp"); the installed copies say
# "sluice/kafka/client/cluster.hpp" instead, rewritten by cmake/rewrite_installed_includes.cmake as
# they are installed. Adding include/sluice to the path would have kept them unchanged, at the price
# of a top-level kafka/ on everybody's include path.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(sluice_installed_libraries kafka_protocol kafka_records kafka kafka_admin kafka_producer
                               kafka_consumer kafka_properties)
set(sluice_installed_targets sluice_asio)
foreach(name ${sluice_installed_libraries})
  list(APPEND sluice_installed_targets sluice_${name})
endforeach()
set(sluice_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Sluice)

install(TARGETS ${sluice_installed_targets} EXPORT SluiceTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/kafka/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sluice/kafka
        COMPONENT devel FILES_MATCHING PATTERN "*.hpp" PATTERN "*.inc" PATTERN generator EXCLUDE)
install(CODE "set(sluice_include_root \"${CMAKE_INSTALL_INCLUDEDIR}/sluice\")
              set(sluice_include_folders kafka)" COMPONENT devel)
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/rewrite_installed_includes.cmake COMPONENT devel)

install(EXPORT SluiceTargets NAMESPACE Sluice:: DESTINATION ${sluice_cmake_dir} COMPONENT devel)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SluiceConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/SluiceConfig.cmake
                              INSTALL_DESTINATION ${sluice_cmake_dir})
# 0.x: a minor release may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SluiceConfig.cmake ${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
        DESTINATION ${sluice_cmake_dir} COMPONENT devel)

# pkg-config: the libraries are static, so every dependency is listed for plain `--libs`.
set(sluice_pkgconfig_libs)
foreach(name kafka_properties kafka_admin kafka_producer kafka_consumer kafka kafka_records kafka_protocol)
  string(APPEND sluice_pkgconfig_libs " -lsluice_${name}")
endforeach()
# The prefix is found from the .pc file's own place, so `cmake --install --prefix` anywhere works.
file(RELATIVE_PATH sluice_pkgconfig_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/sluice-kafka.pc.in ${PROJECT_BINARY_DIR}/sluice-kafka.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sluice-kafka.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT devel)

install(TARGETS sluice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# `cpack -G DEB` in a build tree: one Debian package with all of the above. The run-time libraries
# the binary links are found by dpkg-shlibdeps; the -dev packages are what the headers and the
# CMake package need.
set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VENDOR "Sluice")
set(CPACK_PACKAGE_CONTACT "Sluice developers <sluice@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "C++20 Kafka client and stream-processing runtime")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libboost1.81-dev, libboost-json1.81-dev, libssl-dev, zlib1g-dev, libzstd-dev, liblz4-dev, libsnappy-dev, libspdlog-dev, libfmt-dev, pkg-config")
include(CPack)
