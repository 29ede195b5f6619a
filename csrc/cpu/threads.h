// Thread-count settings (OpenMP underneath; OMP_NUM_THREADS is honoured at start).
#pragma once
namespace heron {
void set_num_threads(int n);
int get_num_threads();
}  // namespace heron
