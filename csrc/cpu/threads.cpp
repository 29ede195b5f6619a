#include "cpu/threads.h"

#include <omp.h>

#include "core/errors.h"

namespace heron {
void set_num_threads(int n) {
  HERON_CHECK(n > 0, Runtime, "[set_num_threads] Expected number of threads to be positive, got ", n);
  omp_set_num_threads(n);
}
int get_num_threads() { return omp_get_max_threads(); }
}  // namespace heron
