# Helpers: the one way to add a target. Each source folder is one static library
# `xstack_<folder>` with the alias `xstack::<folder>`.

add_library(xstack_build_flags INTERFACE)
target_compile_options(xstack_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wundef -Wnon-virtual-dtor
  $<$<BOOL:${XSTACK_WERROR}>:-Werror>)
if(XSTACK_SANITIZE)
  list(JOIN XSTACK_SANITIZE "," _xs_san)
  target_compile_options(xstack_build_flags INTERFACE
    -fsanitize=${_xs_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # fuzzer-no-link instruments without a main(); the fuzz drivers add -fsanitize=fuzzer.
  string(REPLACE "fuzzer-no-link" "" _xs_san_link "${_xs_san}")
  string(REGEX REPLACE ",+" "," _xs_san_link "${_xs_san_link}")
  string(REGEX REPLACE "^,|,$" "" _xs_san_link "${_xs_san_link}")
  if(_xs_san_link)
    target_link_options(xstack_build_flags INTERFACE -fsanitize=${_xs_san_link})
  endif()
endif()
set_target_properties(xstack_build_flags PROPERTIES EXPORT_NAME build_flags)
set(XSTACK_EXPORTED_TARGETS xstack_build_flags CACHE INTERNAL "")
set(XSTACK_LIBRARIES "" CACHE INTERNAL "")

# xstack_library(<folder> SRCS ... [DEPS ...] [PRIVATE_DEPS ...])
# Public headers are the folder's *.h files except *_internal.h; they are installed under
# include/xstack/<folder>/.
function(xstack_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(xstack_${name} STATIC ${ARG_SRCS})
  add_library(xstack::${name} ALIAS xstack_${name})
  set_target_properties(xstack_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME xstack_${name})
  # The headers need C++20: say so in the usage requirements, so installed consumers get it too.
  target_compile_features(xstack_${name} PUBLIC cxx_std_20)
  target_include_directories(xstack_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/gen>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/xstack>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(xstack_${name}
    PUBLIC ${ARG_DEPS} $<BUILD_INTERFACE:xstack_build_flags>
    PRIVATE ${ARG_PRIVATE_DEPS})
  file(GLOB _hdrs RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  list(FILTER _hdrs EXCLUDE REGEX "_internal\\.h$")
  install(FILES ${_hdrs} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/xstack/${name})
  set(XSTACK_EXPORTED_TARGETS ${XSTACK_EXPORTED_TARGETS} xstack_${name} CACHE INTERNAL "")
  set(XSTACK_LIBRARIES ${XSTACK_LIBRARIES} xstack_${name} CACHE INTERNAL "")
endfunction()

# xstack_test(<name> SRCS ... DEPS ... [LABELS ...]): one executable per test file; ctest sees
# every TEST() separately.
function(xstack_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} xstack_test_support GTest::gmock GTest::gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  # Labels are applied after discovery, over the discovered list (${name}_TESTS): passing a
  # multi-valued LABELS through gtest_discover_tests' PROPERTIES keeps only the first one.
  if(ARG_LABELS)
    set(_inc ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
    file(WRITE ${_inc}
      "foreach(_t IN LISTS ${name}_TESTS)\n"
      "  set_tests_properties(\"\${_t}\" PROPERTIES LABELS \"${ARG_LABELS}\")\n"
      "endforeach()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_inc})
  endif()
endfunction()

# xstack_bench(<name> SRCS ... DEPS ...): also registered as a smoke test.
function(xstack_bench name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark_main)
  if(XSTACK_BUILD_TESTS)
    add_test(NAME ${name}_smoke COMMAND ${name} --benchmark_min_time=0.001)
    set_tests_properties(${name}_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120)
  endif()
endfunction()

# xstack_fuzz(<name> SRCS ... DEPS ...): a libFuzzer driver; CI replays fuzz/corpus/<name>.
function(xstack_fuzz name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()
