#include "cpu/threads.h"

#include <omp.h>
#include <pthread.h>

#include "core/errors.h"

namespace heron {
namespace {

// libgomp's worker pool does not survive fork(): a child that starts a parallel region with
// more than one thread waits forever for workers that were never copied. A forked child
// (a DataLoader worker, a multiprocessing pool) therefore starts single-threaded; it may
// raise the count again only by calling set_num_threads, which then builds a fresh pool.
void single_threaded_after_fork() { omp_set_num_threads(1); }

struct ForkGuard {
  ForkGuard() { pthread_atfork(nullptr, nullptr, &single_threaded_after_fork); }
};
ForkGuard fork_guard;

}  // namespace

void set_num_threads(int n) {
  HERON_CHECK(n > 0, Runtime, "[set_num_threads] Expected number of threads to be positive, got ", n);
  omp_set_num_threads(n);
}
int get_num_threads() { return omp_get_max_threads(); }
}  // namespace heron
