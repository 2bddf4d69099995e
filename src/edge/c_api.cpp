// The edge runtime's C API (greenai/edge/greenai_edge.h): loading from memory or a mapped file,
// inference through the values placed in the arena, and the model's queries.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/internal/model.h"
#include "edge/internal/scalar.h"

using namespace greenai::edge;
using namespace greenai::edge::internal;

namespace greenai::edge::internal {

void free_model(greenai_edge_model* m) {
  if (!m) return;
  for (size_t i = 0; i < m->step_count; ++i) {
    free(m->steps[i].bias_unsigned);
    free(m->steps[i].packed_storage);
    free(m->steps[i].packed_f32_storage);
    free(m->steps[i].row_sums);
    free(m->steps[i].table);
  }
  free(m->steps);
  free(m->value_offset);
  free(m->value_root);
  free(m->arena);
  if (m->mapped) munmap(const_cast<uint8_t*>(m->data), m->size);
  free(m);
}

}  // namespace greenai::edge::internal

namespace {

void set_error(char* error, size_t error_size, const char* message) {
  if (error && error_size) snprintf(error, error_size, "%s", message);
}

greenai_edge_model* new_model() {
  return static_cast<greenai_edge_model*>(calloc(1, sizeof(greenai_edge_model)));
}

// Validates and prepares a model whose data and size are set; on success hands it to *out,
// otherwise frees it.
greenai_edge_status finish_load(greenai_edge_model* m, int max_batch, greenai_edge_model** out,
                                char* error, size_t error_size) {
  LoadError result{GREENAI_EDGE_OK, {}};
  if (max_batch < 1 || max_batch > kMaxBatch)
    result = fail(GREENAI_EDGE_ERROR_ARGUMENT, "max_batch must be between 1 and 65536");
  if (result.status == GREENAI_EDGE_OK) result = validate(*m);
  if (result.status == GREENAI_EDGE_OK) result = prepare(m, max_batch);
  if (result.status != GREENAI_EDGE_OK) {
    set_error(error, error_size, result.message);
    free_model(m);
    return result.status;
  }
  *out = m;
  return GREENAI_EDGE_OK;
}

greenai_edge_status load_memory(const void* data, size_t size, int max_batch, bool keep_values,
                                greenai_edge_model** model, char* error, size_t error_size) {
  if (!data || !model) {
    set_error(error, error_size, "null argument");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (reinterpret_cast<uintptr_t>(data) % kAlignment != 0) {
    set_error(error, error_size, "the bytes must be 64-byte aligned");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  greenai_edge_model* m = new_model();
  if (!m) {
    set_error(error, error_size, "cannot allocate the model");
    return GREENAI_EDGE_ERROR_MEMORY;
  }
  m->data = static_cast<const uint8_t*>(data);
  m->size = size;
  m->keep_values = keep_values;
  return finish_load(m, max_batch, model, error, error_size);
}

}  // namespace

extern "C" {

greenai_edge_status greenai_edge_load_memory(const void* data, size_t size, int max_batch,
                                             greenai_edge_model** model, char* error,
                                             size_t error_size) {
  return load_memory(data, size, max_batch, false, model, error, error_size);
}

greenai_edge_status greenai_edge_load_memory_keeping_values(const void* data, size_t size,
                                                            int max_batch,
                                                            greenai_edge_model** model, char* error,
                                                            size_t error_size) {
  return load_memory(data, size, max_batch, true, model, error, error_size);
}

size_t greenai_edge_value_count(const greenai_edge_model* model) {
  return model ? model->step_count + 1 : 0;
}

const void* greenai_edge_value(const greenai_edge_model* model, size_t v,
                               size_t* elements_per_example, int* is_int8) {
  if (!model || !model->keep_values || v == 0 || v >= model->step_count) return nullptr;
  const Step& s = model->steps[v - 1];
  if (elements_per_example) *elements_per_example = s.out_elems;
  if (is_int8) *is_int8 = s.out_type == DType::kI8;
  const uint32_t root = model->value_root[v];
  if (root == 0) return nullptr;  // a Flatten or Reshape of the input: the caller's buffer
  const uint8_t* base = model->arena;
  base += (kAlignment - reinterpret_cast<uintptr_t>(base) % kAlignment) % kAlignment;
  return base + model->value_offset[root];
}

greenai_edge_status greenai_edge_load_file(const char* path, int max_batch,
                                           greenai_edge_model** model, char* error,
                                           size_t error_size) {
  if (!path || !model) {
    set_error(error, error_size, "null argument");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  char text[160];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(text, sizeof text, "cannot open %s: %s", path, strerror(errno));
    set_error(error, error_size, text);
    return GREENAI_EDGE_ERROR_IO;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    snprintf(text, sizeof text, "cannot read %s: empty or unreadable", path);
    set_error(error, error_size, text);
    return st.st_size == 0 ? GREENAI_EDGE_ERROR_FORMAT : GREENAI_EDGE_ERROR_IO;
  }
  void* mapped = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    snprintf(text, sizeof text, "cannot map %s: %s", path, strerror(errno));
    set_error(error, error_size, text);
    return GREENAI_EDGE_ERROR_IO;
  }
  greenai_edge_model* m = new_model();
  if (!m) {
    munmap(mapped, static_cast<size_t>(st.st_size));
    set_error(error, error_size, "cannot allocate the model");
    return GREENAI_EDGE_ERROR_MEMORY;
  }
  m->data = static_cast<const uint8_t*>(mapped);
  m->size = static_cast<size_t>(st.st_size);
  m->mapped = true;
  return finish_load(m, max_batch, model, error, error_size);
}

size_t greenai_edge_input_size(const greenai_edge_model* model) {
  return model ? model->input_size : 0;
}
size_t greenai_edge_value_shape(const greenai_edge_model* model, size_t v, size_t dims[3]) {
  if (!model || !dims || v > model->step_count) return 0;
  const Step& s = model->steps[v == 0 ? 0 : v - 1];
  const uint32_t* shape = v == 0 ? s.in_shape : s.out_shape;
  const int count = v == 0 ? s.in_dims : s.out_dims;
  for (int d = 0; d < count; ++d) dims[d] = shape[d];
  return static_cast<size_t>(count);
}

size_t greenai_edge_output_size(const greenai_edge_model* model) {
  return model ? model->output_size : 0;
}
size_t greenai_edge_arena_bytes(const greenai_edge_model* model) {
  return model ? model->arena_bytes : 0;
}
const char* greenai_edge_kernels(const greenai_edge_model* model) {
  return model && model->kernels ? model->kernels->name : "";
}
const char* greenai_edge_selected_kernels(void) {
  const KernelSet* set = select_kernels();
  return set ? set->name : "";
}
void greenai_edge_runnable_kernels(char* names, size_t size) {
  if (names) runnable_kernel_names(names, size);
}
const char* greenai_edge_last_error(const greenai_edge_model* model) {
  return model ? model->error : "";
}

greenai_edge_status greenai_edge_infer(greenai_edge_model* model, int batch, const float* input,
                                       size_t input_count, float* output, size_t output_capacity) {
  if (!model) return GREENAI_EDGE_ERROR_ARGUMENT;
  model->error[0] = '\0';  // messages go into the model's own buffer: no allocation
  if (!input || !output) {
    set_error(model->error, sizeof model->error, "null input or output");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (batch < 1 || batch > model->max_batch) {
    set_error(model->error, sizeof model->error, "batch outside 1..max_batch given at load");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (input_count != model->input_size * static_cast<size_t>(batch)) {
    snprintf(model->error, sizeof model->error,
             "input holds %zu floats; %d example(s) of %llu floats need %llu", input_count, batch,
             static_cast<unsigned long long>(model->input_size),
             static_cast<unsigned long long>(model->input_size) * batch);
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  if (output_capacity < model->output_size * static_cast<size_t>(batch)) {
    set_error(model->error, sizeof model->error, "output buffer too small");
    return GREENAI_EDGE_ERROR_ARGUMENT;
  }
  uint8_t* base = model->arena;
  base += (kAlignment - reinterpret_cast<uintptr_t>(base) % kAlignment) % kAlignment;
  uint8_t* scratch = base + model->values_bytes;
  // Value v: the input, the output (the last), or its root's place in the arena.
  auto value = [&](uint32_t v) -> void* {
    if (v == model->step_count) return output;
    const uint32_t root = model->value_root[v];
    if (root == 0) return const_cast<float*>(input);
    return base + model->value_offset[root];
  };
  for (size_t i = 0; i < model->step_count; ++i) {
    const Step& s = model->steps[i];
    const bool last = i + 1 == model->step_count;
    // Flatten and Reshape move no data: their readers read their input where it is.
    if ((s.op.kind == OpKind::kFlatten || s.op.kind == OpKind::kReshape) && !last) continue;
    const void* in2 = s.graph.input[1] == kNoValue ? nullptr : value(s.graph.input[1]);
    run_step(s, value(s.graph.input[0]), in2, value(static_cast<uint32_t>(i + 1)), scratch, batch);
  }
  return GREENAI_EDGE_OK;
}

void greenai_edge_free(greenai_edge_model* model) { free_model(model); }

}  // extern "C"
