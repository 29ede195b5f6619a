// Typed errors thrown by heron's C++ core. The bindings translate each kind to the Python
// exception type torch raises for the same mistake; nothing in the library aborts.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace heron {

enum class ErrorKind {
  Runtime,         // RuntimeError
  Value,           // ValueError
  Index,           // IndexError
  Type,            // TypeError
  Shape,           // heron.ShapeError: both RuntimeError (as torch) and ValueError
  NotImplemented,  // NotImplementedError: a torch option heron does not offer
  Memory,          // MemoryError
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Parts>
std::string cat_message(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
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
