# Run by `cmake --install` after the headers are copied (cmake/install.cmake says why): in every
# installed header, `#include "<folder>/...` becomes `#include "sluice/<folder>/...` for the
# installed folders, so the installed headers find each other under <prefix>/include alone.
# Set by the install(CODE) before this script: sluice_include_root, sluice_include_folders.
set(root "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${sluice_include_root}")
list(JOIN sluice_include_folders "|" folders)
foreach(folder ${sluice_include_folders})
  file(GLOB_RECURSE headers "${root}/${folder}/*.hpp" "${root}/${folder}/*.inc")
  foreach(header ${headers})
    file(READ "${header}" text)
    string(REGEX REPLACE "#include \"(${folders})/" "#include \"sluice/\\1/" rewritten "${text}")
    if(NOT rewritten STREQUAL text)
      file(WRITE "${header}" "${rewritten}")
    endif()
  endforeach()
endforeach()
