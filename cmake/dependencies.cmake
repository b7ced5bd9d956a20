# Every third-party library comes from Debian's packages (scripts/setup installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS program_options json)
find_package(OpenSSL 3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
find_package(Snappy REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(RocksDB REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core)
# The allocator of the `sluice` program (not of the libraries: a program embedding them chooses its
# own). The stream loop allocates per record (a JSON DOM, keys, values, output records); with
# glibc's malloc that was about a fifth of its CPU (docs/benchmarks.md, "The allocator"). The
# sanitizers bring their own malloc, so they keep the system one.
set(SLUICE_ALLOCATOR "jemalloc" CACHE STRING "Allocator linked into the sluice program: jemalloc or system")
set_property(CACHE SLUICE_ALLOCATOR PROPERTY STRINGS jemalloc system)
if(SLUICE_ALLOCATOR STREQUAL "jemalloc" AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
elseif(NOT SLUICE_ALLOCATOR MATCHES "^(jemalloc|system)$")
  message(FATAL_ERROR "SLUICE_ALLOCATOR is '${SLUICE_ALLOCATOR}': jemalloc or system")
endif()
# For the `sluice` program and the benchmark drivers that stand for it (the restore driver).
function(sluice_link_allocator target)
  if(TARGET PkgConfig::JEMALLOC)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
if(SLUICE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

# Asio is compiled once (kafka/net/asio_impl.cpp) instead of in every translation unit. Installed
# and exported (Sluice::asio) with the Kafka libraries: code using them must see the same macros.
add_library(sluice_asio INTERFACE)
set_target_properties(sluice_asio PROPERTIES EXPORT_NAME asio)
target_compile_definitions(sluice_asio INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE)
target_link_libraries(sluice_asio INTERFACE Boost::boost Threads::Threads OpenSSL::SSL OpenSSL::Crypto)
