// The command's throwing operator new, when it runs on mimalloc (CMakeLists.txt links
// it into `tsk`): running out of memory must reach the runtime as std::bad_alloc, which
// it turns into a script's MemoryError (SPEC §5). mimalloc 2.0's own operator new calls
// abort() when an allocation fails and it sees no new-handler, and it cannot see one
// set with std::set_new_handler (it looks std::get_new_handler up through a weak stub of
// its own). These definitions, in the executable, take precedence over mimalloc's; the
// nothrow, aligned and deleting forms stay mimalloc's, which pair with these.
#ifdef TSK_MIMALLOC
#include <mimalloc.h>

#include <new>

void* operator new(std::size_t size) {
  if (void* p = mi_new_nothrow(size)) return p;
  throw std::bad_alloc();
}

void* operator new[](std::size_t size) {
  if (void* p = mi_new_nothrow(size)) return p;
  throw std::bad_alloc();
}

void* operator new(std::size_t size, std::align_val_t alignment) {
  if (void* p = mi_new_aligned_nothrow(size, static_cast<std::size_t>(alignment))) return p;
  throw std::bad_alloc();
}

void* operator new[](std::size_t size, std::align_val_t alignment) {
  if (void* p = mi_new_aligned_nothrow(size, static_cast<std::size_t>(alignment))) return p;
  throw std::bad_alloc();
}
#endif
