// Kernel files are compiled once per ISA level with -DHERON_CPU_CAPABILITY=DEFAULT|AVX2|AVX512.
// Everything they define lives in heron::cpu::<level>, so no inline body compiled for a wide ISA
// can be merged into (and run by) a narrower level.
#pragma once
#ifndef HERON_CPU_CAPABILITY
#define HERON_CPU_CAPABILITY DEFAULT
#endif
#define HERON_ISA_NAMESPACE heron::cpu::HERON_CPU_CAPABILITY
