#include "kernels/cpu/fault_guard.h"

#include <csetjmp>
#include <csignal>
#include <iterator>

namespace slm::kernels::cpu {
namespace {

constexpr int kSignals[] = {SIGILL, SIGSEGV, SIGBUS};
struct sigaction g_previous[std::size(kSignals)];
thread_local sigjmp_buf* t_guard = nullptr;  // set while this thread runs a guarded probe

void on_fault(int sig, siginfo_t*, void*) {
  if (sigjmp_buf* env = t_guard) siglongjmp(*env, sig);
  // Another thread's fault: give the signal back to the previous handler, which sees it when the faulting
  // instruction runs again.
  for (size_t i = 0; i < std::size(kSignals); ++i)
    if (kSignals[i] == sig) sigaction(sig, &g_previous[i], nullptr);
}

}  // namespace

int run_fault_guarded(void (*fn)(void*), void* ctx) {
  struct sigaction act = {};
  act.sa_sigaction = on_fault;
  act.sa_flags = SA_SIGINFO;
  sigemptyset(&act.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &act, &g_previous[i]);
  sigjmp_buf env;
  const int sig = sigsetjmp(env, 1);  // 1: the signal mask comes back too, unblocking the caught signal
  if (sig == 0) {
    t_guard = &env;
    fn(ctx);
  }
  t_guard = nullptr;
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  return sig;
}

}  // namespace slm::kernels::cpu
