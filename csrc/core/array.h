// Array: the device-independent n-d array under heron.Tensor — refcounted storage plus
// shape, strides and offset (both in elements), dtype and device. Views share storage.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/small_vector.h"

namespace heron {

using Shape = SmallVector<int64_t, 6>;
using Strides = SmallVector<int64_t, 6>;

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

constexpr int64_t kAlignment = 64;
constexpr int64_t kSmallAllocation = 1024;
constexpr int64_t kHugePage = int64_t(2) << 20;

// One allocation. `owner` keeps foreign memory (a NumPy array, a DLPack capsule) alive;
// when it is empty the storage owns `data` and frees it. `version` counts in-place writes
// so autograd can refuse to use a saved tensor that was modified afterwards.
struct Storage {
  void* data = nullptr;
  int64_t nbytes = 0;
  Device device;
  std::shared_ptr<void> owner;
  std::atomic<int64_t> version{0};

  static std::shared_ptr<Storage> allocate(int64_t nbytes, Device device = {});
  static std::shared_ptr<Storage> wrap(void* data, int64_t nbytes, std::shared_ptr<void> owner,
                                       Device device = {});
  ~Storage();
};

class Array {
 public:
  Array() = default;
  Array(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype);

  // A new contiguous array of uninitialised memory (MemoryError when it cannot be had).
  static Array empty(const Shape& shape, DType dtype, Device device = {});

  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device; }
  int64_t ndim() const { return int64_t(shape_.size()); }
  int64_t numel() const { return numel_; }
  int64_t itemsize() const { return heron::itemsize(dtype_); }
  int64_t size(int64_t dim) const { return shape_[dim]; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool defined() const { return storage_ != nullptr; }

  char* data() const { return static_cast<char*>(storage_->data) + offset_ * itemsize(); }
  template <typename T>
  T* data_as() const { return reinterpret_cast<T*>(data()); }

  bool is_contiguous() const;
  int64_t version() const { return storage_->version.load(std::memory_order_relaxed); }
  void bump_version() const { storage_->version.fetch_add(1, std::memory_order_relaxed); }

  // Views (no copy). Arguments are validated: bad dims raise IndexError, bad sizes ShapeError.
  Array as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;
  Array view(const Shape& shape) const;          // fails when strides do not allow it
  Array permute(const std::vector<int64_t>& dims) const;
  Array transpose(int64_t d0, int64_t d1) const;
  Array expand(const Shape& shape) const;         // torch.expand, -1 keeps a size
  Array squeeze(const std::vector<int64_t>& dims) const;  // empty: all size-1 dims
  Array unsqueeze(int64_t dim) const;
  Array narrow(int64_t dim, int64_t start, int64_t length) const;
  Array slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const;  // Python slice semantics, already clamped
  Array select(int64_t dim, int64_t index) const;
  Array diagonal(int64_t offset, int64_t d0, int64_t d1) const;
  Array detach_alias() const { return Array(storage_, shape_, strides_, offset_, dtype_); }

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Strides strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::Float32;
  int64_t numel_ = 0;
};

// The allocator keeps freed buffers of 2 MiB or more for reuse (bounded by
// HERON_ALLOCATOR_CACHE_MB, default 2048); this returns them to the OS.
void empty_allocator_cache();
int64_t allocator_cached_bytes();

// Helpers shared by the op entry points.
Strides contiguous_strides(const Shape& shape);
int64_t shape_numel(const Shape& shape, const char* op);  // ShapeError on negative, MemoryError on overflow
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);  // IndexError when out of range
std::string shape_str(const Shape& shape);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Resolves one -1 in a view/reshape target against numel.
Shape infer_size(const Shape& shape, int64_t numel, const char* op);
// Strides of a view of `shape` over an array with (old_shape, old_strides), if one exists.
bool compute_view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape,
                          Strides* out);

}  // namespace heron
