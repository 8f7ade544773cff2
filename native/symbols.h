// Shared libraries loaded for func/ptr collectors (--dlopen LIB) and the lookup of their symbols.

#pragma once

#include <string>

namespace shmetrics {

// Loads `path` with RTLD_NOW | RTLD_GLOBAL; throws RegionException(kArgument) with dlerror() on failure.
void load_library(const std::string& path);

// The address of `name` in this process (any loaded library, or the executable), or nullptr.
void* find_symbol(const std::string& name);

}  // namespace shmetrics
