// Runs a probe of instructions the CPU claims to have, on this thread, with the faults such a probe can raise
// (SIGILL, SIGSEGV, SIGBUS) turned into a return value instead of the end of the process.
#pragma once

namespace slm::kernels::cpu {

// Calls fn(ctx) with those three signals caught for the calling thread: 0 where fn returned, else the
// number of the signal that cut it short. The previous handlers are back in place on return; a fault on
// another thread meanwhile goes to them. fn must leave nothing to destroy when cut short (no object with a
// destructor between the call and the instruction that may fault). Not reentrant; for start-up checks.
int run_fault_guarded(void (*fn)(void*), void* ctx);

}  // namespace slm::kernels::cpu
