# One wrapper makes every Sluice library target the same way: C++20, strict warnings, the repo
# root as include root, and an alias sluice::<name>.
#
#   sluice_add_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
#
# creates target sluice_<name> with aliases sluice::<name> and Sluice::<name> (the name an installed
# copy exports it under, cmake/install.cmake, so that add_subdirectory users can write the same).
# GCC 12 at -O1 (the asan preset) reports coroutine frames as mismatched new/delete: a false
# positive on every coroutine-heavy file, so it is off for GCC.
# -Werror is SLUICE_WERROR's (the presets turn it on): a packager with another compiler gets
# warnings, not a failed build.
function(sluice_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra $<$<BOOL:${SLUICE_WERROR}>:-Werror>
                                            -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
    # Under the sanitizers GCC's flow analysis sees uninitialised members inside std::regex and
    # std::function that are not there (GCC documents false positives with -fsanitize).
    if(CMAKE_CXX_FLAGS MATCHES "-fsanitize")
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    # GCC 12 at -O3 (the release preset) reports `"text" + std::string` as an overlapping memcpy
    # of 2^63 bytes (GCC bug 105651, fixed in GCC 13): a false positive in libstdc++'s own code.
    if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-Wno-restrict>)
    endif()
  endif()
endfunction()

function(sluice_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target sluice_${name})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sluice_add_library(${name}): no sources (a folder renamed or emptied?)")
  endif()
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(sluice::${name} ALIAS ${target})
  add_library(Sluice::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  sluice_apply_warnings(${target})
endfunction()

# The .cpp files of the given folders (relative to the current source dir), excluding tests.
function(sluice_sources out)
  set(found)
  foreach(folder ${ARGN})
    file(GLOB folder_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/*.cpp)
    list(APPEND found ${folder_sources})
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# sluice_add_test(<name> SOURCES ... DEPS ... [LABELS ...])
# One gtest executable, registered with ctest per test case.
function(sluice_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} sluice::test_support GTest::gmock GTest::gtest
                                        GTest::gtest_main)
  sluice_apply_warnings(${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60
                       DISCOVERY_MODE PRE_TEST)
endfunction()

# sluice_add_test_folder(<folder> DEPS ...)
# Tests mirror source folders: every *_test.cpp of a folder goes into one unit-test executable,
# every *_it.cpp (integration: talks to the real broker) into one labelled `integration`.
function(sluice_add_test_folder folder)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  string(REPLACE "/" "_" stem ${folder})
  file(GLOB unit_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/*_test.cpp
       ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/generated/*.cpp)
  file(GLOB integration_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/*_it.cpp)
  if(unit_sources)
    sluice_add_test(${stem}_test SOURCES ${unit_sources} DEPS ${ARG_DEPS} LABELS unit)
  endif()
  if(integration_sources)
    sluice_add_test(${stem}_it SOURCES ${integration_sources} DEPS ${ARG_DEPS} LABELS integration)
  endif()
endfunction()
