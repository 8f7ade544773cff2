#include "symbols.h"

#include <dlfcn.h>

#include <mutex>
#include <vector>

#include "region.h"

namespace shmetrics {

namespace {
std::mutex libraries_mutex;
std::vector<void*> libraries;  // never closed: collectors may hold pointers into them
}  // namespace

void load_library(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) throw RegionException(RegionException::Kind::kArgument, std::string("dlopen: ") + dlerror());
  std::lock_guard<std::mutex> lock(libraries_mutex);
  libraries.push_back(handle);
}

void* find_symbol(const std::string& name) {
  if (void* address = dlsym(RTLD_DEFAULT, name.c_str())) return address;
  std::lock_guard<std::mutex> lock(libraries_mutex);
  for (void* library : libraries)
    if (void* address = dlsym(library, name.c_str())) return address;
  return nullptr;
}

}  // namespace shmetrics
