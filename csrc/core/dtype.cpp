#include "core/dtype.h"

#include "core/errors.h"

namespace heron {

int64_t itemsize(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8: return 1;
    case DType::Int16:
    case DType::Float16:
    case DType::BFloat16: return 2;
    case DType::Int32:
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::Float64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  static const char* names[kNumDTypes] = {"bool",  "uint8",   "int8",     "int16",   "int32",
                                          "int64", "float16", "bfloat16", "float32", "float64"};
  return names[int(t)];
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  // Table in DType order, as torch's promoteTypes lookup (complex and unsigned >8 left out).
  using D = DType;
  constexpr D b1 = D::Bool, u1 = D::UInt8, i1 = D::Int8, i2 = D::Int16, i4 = D::Int32,
              i8 = D::Int64, f2 = D::Float16, bf = D::BFloat16, f4 = D::Float32, f8 = D::Float64;
  static const D table[kNumDTypes][kNumDTypes] = {
      /* b1 */ {b1, u1, i1, i2, i4, i8, f2, bf, f4, f8},
      /* u1 */ {u1, u1, i2, i2, i4, i8, f2, bf, f4, f8},
      /* i1 */ {i1, i2, i1, i2, i4, i8, f2, bf, f4, f8},
      /* i2 */ {i2, i2, i2, i2, i4, i8, f2, bf, f4, f8},
      /* i4 */ {i4, i4, i4, i4, i4, i8, f2, bf, f4, f8},
      /* i8 */ {i8, i8, i8, i8, i8, i8, f2, bf, f4, f8},
      /* f2 */ {f2, f2, f2, f2, f2, f2, f2, f4, f4, f8},
      /* bf */ {bf, bf, bf, bf, bf, bf, f4, bf, f4, f8},
      /* f4 */ {f4, f4, f4, f4, f4, f4, f4, f4, f4, f8},
      /* f8 */ {f8, f8, f8, f8, f8, f8, f8, f8, f8, f8},
  };
  return table[int(a)][int(b)];
}

void ResultTypeState::add(DType t, OperandKind kind) {
  int k = int(kind);
  level[k] = seen[k] ? promote_types(level[k], t) : t;
  seen[k] = true;
}

// torch's combine_categories: a lower level only matters when it is of a higher category.
static int combine_categories(int higher, int lower) {
  if (higher < 0) return lower;
  DType h = DType(higher);
  if (is_floating(h)) return higher;
  if (lower >= 0 && (h == DType::Bool || is_floating(DType(lower))))
    return int(promote_types(h, DType(lower)));
  return higher;
}

DType ResultTypeState::result(DType default_float) const {
  int dim = seen[0] ? int(level[0]) : -1;
  int zero = seen[1] ? int(level[1]) : -1;
  int wrapped = -1;
  if (seen[2]) wrapped = int(is_floating(level[2]) ? default_float : level[2]);
  int out = combine_categories(dim, combine_categories(zero, wrapped));
  return out < 0 ? default_float : DType(out);
}

}  // namespace heron
