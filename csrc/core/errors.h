// Typed errors thrown by heron's C++ core. The bindings translate each kind to the Python
// exception type torch raises for the same mistake; nothing in the library aborts.
#pragma once
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace heron {

enum class ErrorKind {
  Runtime,         // RuntimeError
  Value,           // ValueError
  Index,           // IndexError
  Type,            // TypeError
  Shape,           // heron.ShapeError: both RuntimeError (as torch) and ValueError
  NotImplemented,  // NotImplementedError: a torch option heron does not offer
  Memory,          // heron.OutOfMemoryError: both MemoryError and RuntimeError (as torch's)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Message formatting without iostreams: an extension may end up with its own static copy of
// libstdc++ (some toolchains link it so), whose stream/locale state is not safe to use there.
inline void append_part(std::string& out, const std::string& s) { out += s; }
inline void append_part(std::string& out, const char* s) { out += s ? s : "(null)"; }
inline void append_part(std::string& out, char c) { out += c; }
inline void append_part(std::string& out, bool b) { out += b ? "true" : "false"; }
template <typename T>
std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>> append_part(
    std::string& out, T v) {
  out += std::to_string(v);
}
template <typename T>
std::enable_if_t<std::is_floating_point_v<T>> append_part(std::string& out, T v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", double(v));
  out += buf;
}

template <typename... Parts>
std::string cat_message(Parts&&... parts) {
  std::string out;
  (append_part(out, std::forward<Parts>(parts)), ...);
  return out;
}

template <typename... Parts>
[[noreturn]] void fail(ErrorKind kind, Parts&&... parts) {
  throw Error(kind, cat_message(std::forward<Parts>(parts)...));
}

}  // namespace heron

// HERON_CHECK(cond, Kind, "[op] message parts", ...) — validation at op entry points.
#define HERON_CHECK(cond, kind, ...) \
  do {                               \
    if (!(cond)) ::heron::fail(::heron::ErrorKind::kind, __VA_ARGS__); \
  } while (0)
