#include "core/array.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/errors.h"

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace heron {

namespace {

// Large buffers are cached after free and handed out again for the same rounded size: a
// training step allocates the same big temporaries every iteration, and fresh pages cost a page
// fault per 4 KiB on first touch. The cache is bounded and empty_cache() returns everything.
class LargeBlockCache {
 public:
  static LargeBlockCache& instance() {
    static LargeBlockCache* cache = new LargeBlockCache();  // never destroyed: frees may run at exit
    return *cache;
  }

  void* take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = blocks_.find(bytes);
    if (it == blocks_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= bytes;
    return p;
  }

  bool give(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + bytes > limit_) return false;
    blocks_[bytes].push_back(p);
    cached_ += bytes;
    return true;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, list] : blocks_)
      for (void* p : list) std::free(p);
    blocks_.clear();
    cached_ = 0;
  }

  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  LargeBlockCache() {
    const char* env = std::getenv("HERON_ALLOCATOR_CACHE_MB");
    if (env) limit_ = size_t(std::strtoull(env, nullptr, 10)) << 20;
  }
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> blocks_;
  size_t cached_ = 0;
  size_t limit_ = size_t(2) << 30;  // 2 GiB unless HERON_ALLOCATOR_CACHE_MB says otherwise
};

size_t huge_rounded(int64_t nbytes) { return size_t((nbytes + kHugePage - 1) / kHugePage * kHugePage); }

void* allocate_bytes(int64_t nbytes) {
  if (nbytes <= kSmallAllocation) return std::malloc(size_t(std::max<int64_t>(nbytes, 1)));
  void* p = nullptr;
  if (nbytes < kHugePage) {
    int64_t padded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    return posix_memalign(&p, size_t(kAlignment), size_t(padded)) == 0 ? p : nullptr;
  }
  size_t padded = huge_rounded(nbytes);
  if ((p = LargeBlockCache::instance().take(padded))) return p;
  // 2 MiB aligned and backed by transparent huge pages where the OS allows it.
  if (posix_memalign(&p, size_t(kHugePage), padded) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  madvise(p, padded, MADV_HUGEPAGE);
#endif
  return p;
}

void free_bytes(void* p, int64_t nbytes) {
  if (nbytes >= kHugePage && LargeBlockCache::instance().give(p, huge_rounded(nbytes))) return;
  std::free(p);
}

}  // namespace

void empty_allocator_cache() { LargeBlockCache::instance().clear(); }
int64_t allocator_cached_bytes() { return int64_t(LargeBlockCache::instance().cached()); }

// Physical memory of the machine: a request beyond it is refused before the OS is asked, since
// with memory overcommit the allocation would "succeed" and the first touch would get the
// process killed instead of raising.
static int64_t physical_memory_bytes() {
#ifdef __linux__
  static const int64_t bytes = int64_t(sysconf(_SC_PHYS_PAGES)) * int64_t(sysconf(_SC_PAGESIZE));
  return bytes > 0 ? bytes : INT64_MAX;
#else
  return INT64_MAX;
#endif
}

std::shared_ptr<Storage> Storage::allocate(int64_t nbytes, Device device) {
  if (device.type != DeviceType::CPU)
    fail(ErrorKind::Runtime, "[empty] heron allocates CUDA memory only through the CUDA backend");
  if (nbytes < 0 || nbytes > physical_memory_bytes())
    fail(ErrorKind::Memory, "[empty] not enough memory: you tried to allocate ", nbytes, " bytes, more than the ",
         physical_memory_bytes(), " bytes of memory this machine has");
  auto s = std::make_shared<Storage>();
  void* p = allocate_bytes(nbytes);
  if (!p) fail(ErrorKind::Memory, "[empty] failed to allocate ", nbytes, " bytes");
  s->data = p;
  s->nbytes = nbytes;
  s->device = device;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, int64_t nbytes, std::shared_ptr<void> owner,
                                       Device device) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->device = device;
  s->owner = std::move(owner);
  if (!s->owner) s->owner = std::shared_ptr<void>(nullptr, [](void*) {});  // never free foreign memory
  return s;
}

Storage::~Storage() {
  if (!owner && data) free_bytes(data, nbytes);
}

static int64_t checked_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s == 0) return 0;
  }
  for (int64_t s : shape) {
    if (n > std::numeric_limits<int64_t>::max() / s) return -1;
    n *= s;
  }
  return n;
}

Array::Array(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset,
             DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)),
      offset_(offset), dtype_(dtype) {
  numel_ = checked_numel(shape_);
}

Array Array::empty(const Shape& shape, DType dtype, Device device) {
  int64_t n = shape_numel(shape, "empty");
  int64_t bytes_per = heron::itemsize(dtype);
  if (n > std::numeric_limits<int64_t>::max() / bytes_per)
    fail(ErrorKind::Memory, "[empty] a tensor of shape ", shape_str(shape), " does not fit in memory");
  return Array(Storage::allocate(n * bytes_per, device), shape, contiguous_strides(shape), 0, dtype);
}

bool Array::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = ndim() - 1; d >= 0; --d) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) return numel_ == 0;
    expected *= shape_[d];
  }
  return true;
}

Strides contiguous_strides(const Shape& shape) {
  Strides st(shape.size());
  int64_t acc = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    st[d] = acc;
    acc *= std::max<int64_t>(shape[d], 1);
  }
  return st;
}

std::string shape_str(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

int64_t shape_numel(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    HERON_CHECK(s >= 0, Shape, "[", op, "] Trying to create tensor with negative dimension ", s,
                ": ", shape_str(shape));
  int64_t n = checked_numel(shape);
  if (n < 0) fail(ErrorKind::Memory, "[", op, "] shape ", shape_str(shape), " has too many elements");
  return n;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, as in torch
  if (dim < -n || dim >= n)
    fail(ErrorKind::Index, "[", op, "] Dimension out of range (expected to be in range of [", -n,
         ", ", n - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(ErrorKind::Shape, "[", op, "] The size of tensor a (", da, ") must match the size of tensor b (",
           db, ") at non-singleton dimension ", i, ": shapes ", shape_str(a), " and ", shape_str(b),
           " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape infer_size(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      HERON_CHECK(infer < 0, Shape, "[", op, "] only one dimension can be inferred");
      infer = int(i);
    } else {
      HERON_CHECK(shape[i] >= 0, Shape, "[", op, "] invalid shape dimension ", shape[i]);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    HERON_CHECK(known != 0 && numel % known == 0, Shape, "[", op, "] shape '", shape_str(shape),
                "' is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    HERON_CHECK(known == numel, Shape, "[", op, "] shape '", shape_str(shape),
                "' is invalid for input of size ", numel);
  }
  return out;
}

// The same algorithm as torch's computeStride: walk chunks of old dims that are contiguous
// with each other and split or merge them into the new dims.
bool compute_view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape,
                          Strides* out) {
  Strides st(shape.size(), 0);
  int64_t numel = 1;
  for (int64_t s : old_shape) numel *= s;
  if (old_shape.empty()) {
    std::fill(st.begin(), st.end(), 1);
    *out = st;
    return true;
  }
  if (numel == 0) {  // nothing to address: any strides will do
    *out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = int64_t(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return false;
  *out = st;
  return true;
}

Array Array::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  HERON_CHECK(shape.size() == strides.size(), Shape, "[as_strided] mismatch in length of strides and shape");
  shape_numel(shape, "as_strided");
  HERON_CHECK(offset >= 0, Shape, "[as_strided] negative storage offset ", offset);
  // Every reachable element must lie inside the storage.
  int64_t hi = offset, lo = offset;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    HERON_CHECK(strides[i] >= 0, Shape, "[as_strided] negative strides are not supported");
    if (shape[i] == 0) empty = true;
    else hi += (shape[i] - 1) * strides[i];
  }
  if (!empty) {
    int64_t cap = storage_->nbytes / itemsize();
    HERON_CHECK(lo >= 0 && hi < cap, Shape, "[as_strided] setStorage: sizes ", shape_str(shape),
                ", strides ", shape_str(strides), " and storage offset ", offset,
                " require a storage of ", (hi + 1) * itemsize(), " bytes, but it has only ",
                storage_->nbytes);
  }
  return Array(storage_, shape, strides, offset, dtype_);
}

Array Array::view(const Shape& shape) const {
  Shape target = infer_size(shape, numel_, "view");
  Strides st;
  HERON_CHECK(compute_view_strides(shape_, strides_, target, &st), Runtime,
              "[view] view size is not compatible with input tensor's size and stride (at least one "
              "dimension spans across two contiguous subspaces). Use .reshape(...) instead. Input shape ",
              shape_str(shape_), ", requested ", shape_str(target));
  return Array(storage_, target, st, offset_, dtype_);
}

Array Array::permute(const std::vector<int64_t>& dims) const {
  HERON_CHECK(int64_t(dims.size()) == ndim(), Runtime, "[permute] number of dims don't match in permute: input has ",
              ndim(), " dims, got ", dims.size());
  Shape sh(dims.size());
  Strides st(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], ndim(), "permute");
    HERON_CHECK(!seen[d], Runtime, "[permute] repeated dim ", dims[i]);
    seen[d] = true;
    sh[i] = shape_[d];
    st[i] = strides_[d];
  }
  return Array(storage_, sh, st, offset_, dtype_);
}

Array Array::transpose(int64_t d0, int64_t d1) const {
  if (ndim() == 0) {
    wrap_dim(d0, 0, "transpose");
    wrap_dim(d1, 0, "transpose");
    return detach_alias();
  }
  d0 = wrap_dim(d0, ndim(), "transpose");
  d1 = wrap_dim(d1, ndim(), "transpose");
  Shape sh = shape_;
  Strides st = strides_;
  std::swap(sh[d0], sh[d1]);
  std::swap(st[d0], st[d1]);
  return Array(storage_, sh, st, offset_, dtype_);
}

Array Array::expand(const Shape& shape) const {
  HERON_CHECK(shape.size() >= shape_.size(), Shape, "[expand] the number of sizes provided (", shape.size(),
              ") must be greater or equal to the number of dimensions in the tensor (", ndim(), ")");
  size_t lead = shape.size() - shape_.size();
  Shape sh(shape.size());
  Strides st(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      HERON_CHECK(shape[i] >= 0, Shape, "[expand] the expanded size of the tensor (", shape[i],
                  ") isn't allowed in a leading, non-existing dimension ", i);
      sh[i] = shape[i];
      st[i] = 0;
      continue;
    }
    int64_t old = shape_[i - lead];
    int64_t want = shape[i] == -1 ? old : shape[i];
    if (old == want) {
      sh[i] = old;
      st[i] = strides_[i - lead];
    } else {
      HERON_CHECK(old == 1 && want >= 0, Shape, "[expand] The expanded size of the tensor (", shape[i],
                  ") must match the existing size (", old, ") at non-singleton dimension ", i,
                  ".  Target sizes: ", shape_str(shape), ".  Tensor sizes: ", shape_str(shape_));
      sh[i] = want;
      st[i] = 0;
    }
  }
  return Array(storage_, sh, st, offset_, dtype_);
}

Array Array::squeeze(const std::vector<int64_t>& dims) const {
  std::vector<bool> drop(shape_.size(), false);
  if (dims.empty()) {
    for (size_t i = 0; i < shape_.size(); ++i) drop[i] = shape_[i] == 1;
  } else {
    for (int64_t d : dims) {
      if (ndim() == 0) { wrap_dim(d, 0, "squeeze"); continue; }
      int64_t w = wrap_dim(d, ndim(), "squeeze");
      drop[w] = shape_[w] == 1;
    }
  }
  Shape sh;
  Strides st;
  for (size_t i = 0; i < shape_.size(); ++i)
    if (!drop[i]) {
      sh.push_back(shape_[i]);
      st.push_back(strides_[i]);
    }
  return Array(storage_, sh, st, offset_, dtype_);
}

Array Array::unsqueeze(int64_t dim) const {
  int64_t d = wrap_dim(dim, ndim() + 1, "unsqueeze");
  Shape sh = shape_;
  Strides st = strides_;
  int64_t stride = d < ndim() ? strides_[d] * shape_[d] : 1;
  sh.insert(sh.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  return Array(storage_, sh, st, offset_, dtype_);
}

Array Array::narrow(int64_t dim, int64_t start, int64_t length) const {
  HERON_CHECK(ndim() > 0, Index, "[narrow] narrow() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, ndim(), "narrow");
  int64_t size = shape_[d];
  if (start < 0) start += size;
  HERON_CHECK(start >= 0 && start <= size, Index, "[narrow] start (", start, ") out of range for dimension of size ", size);
  HERON_CHECK(length >= 0 && start + length <= size, Runtime, "[narrow] start (", start, ") + length (", length,
              ") exceeds dimension size (", size, ").");
  Shape sh = shape_;
  sh[d] = length;
  return Array(storage_, sh, strides_, offset_ + start * strides_[d], dtype_);
}

Array Array::slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const {
  int64_t d = wrap_dim(dim, ndim(), "slice");
  HERON_CHECK(step > 0, Value, "[slice] step must be greater than zero");
  int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  Shape sh = shape_;
  Strides st = strides_;
  sh[d] = len;
  st[d] = strides_[d] * step;
  return Array(storage_, sh, st, offset_ + (len > 0 ? start * strides_[d] : 0), dtype_);
}

Array Array::select(int64_t dim, int64_t index) const {
  HERON_CHECK(ndim() > 0, Index, "[select] select() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, ndim(), "select");
  int64_t size = shape_[d];
  HERON_CHECK(index >= -size && index < size, Index, "[select] index ", index, " is out of bounds for dimension ", d,
              " with size ", size);
  if (index < 0) index += size;
  Shape sh = shape_;
  Strides st = strides_;
  sh.erase(sh.begin() + d);
  st.erase(st.begin() + d);
  return Array(storage_, sh, st, offset_ + index * strides_[d], dtype_);
}

Array Array::diagonal(int64_t off, int64_t d0, int64_t d1) const {
  d0 = wrap_dim(d0, ndim(), "diagonal");
  d1 = wrap_dim(d1, ndim(), "diagonal");
  HERON_CHECK(d0 != d1, Runtime, "[diagonal] dimensions cannot be identical ", d0, ", ", d1);
  int64_t len, start = offset_;
  if (off >= 0) {
    len = std::max<int64_t>(std::min(shape_[d0], shape_[d1] - off), 0);
    if (len > 0) start += off * strides_[d1];
  } else {
    len = std::max<int64_t>(std::min(shape_[d0] + off, shape_[d1]), 0);
    if (len > 0) start -= off * strides_[d0];
  }
  Shape sh;
  Strides st;
  for (int64_t i = 0; i < ndim(); ++i)
    if (i != d0 && i != d1) {
      sh.push_back(shape_[i]);
      st.push_back(strides_[i]);
    }
  sh.push_back(len);
  st.push_back(strides_[d0] + strides_[d1]);
  return Array(storage_, sh, st, start, dtype_);
}

}  // namespace heron
