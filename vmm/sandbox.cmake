# The sandbox for hosts without a usable /dev/kvm (docs/sandbox.md).
#
# include()d once by vmm/CMakeLists.txt. Defines the static library
# `vmm_sandbox` (vmm/sandbox/*.c, its own folder; it prints through
# vmm_core's out.c, so that --log gets its lines), which `vmm`, the KVM test harness
# (tests/firmware) and the sandbox's own tests link.
#
# VMM_SANDBOX_DIR: where scripts/sandbox/prepare put the kernel and the base
# initramfs for this build tree; VMM_SANDBOX_FALLBACK_DIR: the one
# scripts/setup prepares (build/sandbox), used by other build trees
# (build-asan, build-tsan) that have none of their own. The environment
# variable VMM_SANDBOX_DIR overrides both at run time.
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
