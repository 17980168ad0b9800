# slm_layer(NAME [DEPS targets...]): one static library per folder under src/, linking only lower layers.
# Sources are globbed so that adding a file to a layer needs no edit here.
function(slm_layer name)
  cmake_parse_arguments(L "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cc)
  # Per-ISA kernel sources (src/kernels/cpu/<isa>/) are compiled by their own targets with their own flags.
  list(FILTER srcs EXCLUDE REGEX "/src/kernels/cpu/[a-z0-9_]+/")
  list(FILTER srcs EXCLUDE REGEX "/src/kernels/cuda/")
  if(NOT srcs)
    set(srcs ${PROJECT_SOURCE_DIR}/cmake/empty.cc)
  endif()
  add_library(slm_${name} STATIC ${srcs})
  target_include_directories(slm_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(slm_${name} PUBLIC ${L_DEPS})
endfunction()
