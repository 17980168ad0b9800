# slm_kernels_isa(ISA FLAGS...): compiles src/kernels/cpu/<ISA>/*.cc into slm_kernels with FLAGS on those
# files only, so the rest of the binary stays baseline x86-64 and runs on any x86-64 CPU; dispatch.cc
# picks a table at start-up from what the CPU supports.
function(slm_kernels_isa isa)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/kernels/cpu/${isa}/*.cc)
  if(NOT srcs)
    return()
  endif()
  list(JOIN ARGN ";" flags)
  set_source_files_properties(${srcs} TARGET_DIRECTORY slm_kernels PROPERTIES COMPILE_OPTIONS "${flags}")
  target_sources(slm_kernels PRIVATE ${srcs})
endfunction()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  slm_kernels_isa(avx2 -mavx2 -mfma -mf16c)
  slm_kernels_isa(avx512 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni)
  # The tile instructions are inline assembly (cpu/amx/gemm.cc): no -mamx flags needed.
  slm_kernels_isa(amx -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni)
  slm_kernels_isa(amx_emu -mavx2 -mfma -mf16c)
  target_compile_definitions(slm_kernels PRIVATE SLM_KERNELS_X86)
endif()
