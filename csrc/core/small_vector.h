// A vector with inline room for N elements: shapes and strides of up to N dims never touch the
// heap, so making, copying and viewing arrays costs no allocation (per-op overhead matters for
// small models).
#pragma once
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <vector>

namespace heron {

template <typename T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>, "SmallVector holds plain values");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVector() = default;
  explicit SmallVector(size_t n, T value = T()) { assign_fill(n, value); }
  SmallVector(std::initializer_list<T> values) { assign_range(values.begin(), values.size()); }
  template <typename It, typename = std::enable_if_t<!std::is_integral_v<It>>>
  SmallVector(It first, It last) {
    reserve(size_t(std::distance(first, last)));
    for (; first != last; ++first) push_back(T(*first));
  }
  SmallVector(const std::vector<T>& v) { assign_range(v.data(), v.size()); }  // NOLINT: implicit on purpose
  SmallVector(const SmallVector& o) { assign_range(o.data(), o.size()); }
  SmallVector(SmallVector&& o) noexcept { steal(o); }
  SmallVector& operator=(const SmallVector& o) {
    if (this != &o) {
      size_ = 0;
      assign_range(o.data(), o.size());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  ~SmallVector() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return heap_ ? heap_ : inline_; }
  const T* data() const { return heap_ ? heap_ : inline_; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }

  void reserve(size_t n) {
    if (n <= capacity()) return;
    T* fresh = new T[n];
    std::memcpy(fresh, data(), size_ * sizeof(T));
    delete[] heap_;
    heap_ = fresh;
    cap_ = n;
  }
  void push_back(T v) {
    if (size_ == capacity()) reserve(capacity() * 2);
    data()[size_++] = v;
  }
  void pop_back() { --size_; }
  void clear() { size_ = 0; }
  void resize(size_t n, T value = T()) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) data()[i] = value;
    size_ = n;
  }
  iterator insert(const_iterator pos, T v) {
    size_t at = size_t(pos - begin());
    push_back(v);
    std::memmove(data() + at + 1, data() + at, (size_ - 1 - at) * sizeof(T));
    data()[at] = v;
    return begin() + at;
  }
  iterator erase(const_iterator pos) {
    size_t at = size_t(pos - begin());
    std::memmove(data() + at, data() + at + 1, (size_ - at - 1) * sizeof(T));
    --size_;
    return begin() + at;
  }
  bool operator==(const SmallVector& o) const {
    return size_ == o.size_ && std::memcmp(data(), o.data(), size_ * sizeof(T)) == 0;
  }
  bool operator!=(const SmallVector& o) const { return !(*this == o); }

 private:
  size_t capacity() const { return heap_ ? cap_ : N; }
  void assign_fill(size_t n, T value) {
    reserve(n);
    for (size_t i = 0; i < n; ++i) data()[i] = value;
    size_ = n;
  }
  void assign_range(const T* src, size_t n) {
    reserve(n);
    if (n) std::memcpy(data(), src, n * sizeof(T));
    size_ = n;
  }
  void steal(SmallVector& o) {
    if (o.heap_) {
      heap_ = o.heap_;
      cap_ = o.cap_;
      o.heap_ = nullptr;
    } else {
      std::memcpy(inline_, o.inline_, o.size_ * sizeof(T));
    }
    size_ = o.size_;
    o.size_ = 0;
  }
  void release() {
    delete[] heap_;
    heap_ = nullptr;
  }

  T inline_[N];
  T* heap_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace heron
