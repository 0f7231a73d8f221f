# The sandbox for hosts without a usable /dev/kvm (docs/sandbox.md).
#
# include()d by vmm/CMakeLists.txt (and by tests/sandbox or tests/firmware
# when the vmm target does not include it yet). Defines the static library
# `vmm_sandbox` (vmm/sandbox/*.c, its own folder; it prints through
# vmm_core's out.c, so that --log gets its lines) and, at the end of the
# including directory, links it into the `vmm` executable when that target
# exists, removing a sandbox.c from vmm's own sources if one was listed
# there (it needs the definitions below).
#
# VMM_SANDBOX_DIR: where scripts/sandbox/prepare put the kernel and the base
# initramfs for this build tree; VMM_SANDBOX_FALLBACK_DIR: the one
# scripts/setup prepares (build/sandbox), used by other build trees
# (build-asan, build-tsan) that have none of their own. The environment
# variable VMM_SANDBOX_DIR overrides both at run time.
if(NOT TARGET vmm_sandbox)
  set(_sbx ${CMAKE_CURRENT_LIST_DIR}/sandbox)
  add_library(vmm_sandbox STATIC
    ${_sbx}/sandbox.c ${_sbx}/sandbox_util.c ${_sbx}/sandbox_cpio.c
    ${_sbx}/sandbox_files.c ${_sbx}/sandbox_cmd.c ${_sbx}/sandbox_monitor.c)
  target_include_directories(vmm_sandbox PUBLIC ${_sbx})
  target_link_libraries(vmm_sandbox PUBLIC vmm_abi vmm_core)
  target_compile_definitions(vmm_sandbox PRIVATE
    VMM_SANDBOX_DIR="${CMAKE_BINARY_DIR}/sandbox"
    VMM_SANDBOX_FALLBACK_DIR="${CMAKE_SOURCE_DIR}/build/sandbox")
  vmm_host_target(vmm_sandbox)

  # Assets for this build tree: `cmake --build B --target sandbox-assets`
  # (scripts/setup runs the same script for build/).
  add_custom_target(sandbox-assets
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/sandbox/prepare ${CMAKE_BINARY_DIR}/sandbox
    COMMENT "Preparing the sandbox assets in ${CMAKE_BINARY_DIR}/sandbox"
    USES_TERMINAL)

  function(_vmm_sandbox_attach)
    if(TARGET vmm)
      get_target_property(_srcs vmm SOURCES)
      list(FILTER _srcs EXCLUDE REGEX "(^|/)sandbox\\.c$")
      set_target_properties(vmm PROPERTIES SOURCES "${_srcs}")
      target_link_libraries(vmm PRIVATE vmm_sandbox)
    endif()
  endfunction()
  cmake_language(DEFER CALL _vmm_sandbox_attach)
endif()
