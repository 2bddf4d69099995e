/* The GreenAI edge runtime: loads a .edge model file (docs/edge-format.md) and runs it.
 *
 * Plain C API over C++ code with no dependency beyond the standard library. No exception
 * crosses it; every call returns a status. All memory is planned at load: inference allocates
 * nothing. A model may be used by one thread at a time.
 *
 *   greenai_edge_model* model;
 *   char why[256];
 *   if (greenai_edge_load_file("student.edge", 64, &model, why, sizeof why) != GREENAI_EDGE_OK) {
 *     fprintf(stderr, "%s\n", why);
 *   }
 *   float logits[10];
 *   greenai_edge_infer(model, 1, image, 784, logits, 10);
 *   greenai_edge_free(model);
 */
#ifndef GREENAI_EDGE_GREENAI_EDGE_H_
#define GREENAI_EDGE_GREENAI_EDGE_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  GREENAI_EDGE_OK = 0,
  GREENAI_EDGE_ERROR_IO = 1,       /* cannot open or read the file */
  GREENAI_EDGE_ERROR_FORMAT = 2,   /* not an edge file, truncated, bad offsets or records */
  GREENAI_EDGE_ERROR_VERSION = 3,  /* a format version this runtime does not know */
  GREENAI_EDGE_ERROR_CHECKSUM = 4, /* the CRC-32 does not match: corrupted */
  GREENAI_EDGE_ERROR_SHAPE = 5,    /* operators whose shapes do not chain */
  GREENAI_EDGE_ERROR_ARGUMENT = 6, /* bad call: null pointer, batch too large, buffer too small */
  GREENAI_EDGE_ERROR_MEMORY = 7    /* the arena could not be allocated at load */
} greenai_edge_status;

typedef struct greenai_edge_model greenai_edge_model;

/* Loads and validates a model from a file, memory-mapped and used in place; plans an arena for
 * batches of up to max_batch examples. On failure writes a one-line reason into error. */
greenai_edge_status greenai_edge_load_file(const char* path, int max_batch,
                                           greenai_edge_model** model, char* error,
                                           size_t error_size);
/* The same from bytes in memory; the bytes must outlive the model and be 64-byte aligned. */
greenai_edge_status greenai_edge_load_memory(const void* data, size_t size, int max_batch,
                                             greenai_edge_model** model, char* error,
                                             size_t error_size);
/* greenai_edge_load_memory with every value of the graph kept in a place of its own (none
 * shares memory with another, and each is laid out as the format says) so that
 * greenai_edge_value can read it after greenai_edge_infer: for calibration and debugging. The
 * arena holds all the values at once. */
greenai_edge_status greenai_edge_load_memory_keeping_values(const void* data, size_t size,
                                                            int max_batch,
                                                            greenai_edge_model** model, char* error,
                                                            size_t error_size);
/* The graph's values: 0 the input, k + 1 the output of operator k (docs/edge-format.md). */
size_t greenai_edge_value_count(const greenai_edge_model* model);
/* Value v as the last greenai_edge_infer left it, for a model loaded keeping values: its
 * examples one after another, *elements_per_example each, float32 (*is_int8 = 0) or int8 codes
 * (*is_int8 = 1). Null for the input and the last value (the caller's own buffers), for a model
 * not keeping values, and for v out of range. */
const void* greenai_edge_value(const greenai_edge_model* model, size_t v,
                               size_t* elements_per_example, int* is_int8);
/* The per-example shape of value v ((N) or (C, H, W); v = 0 the input, the last the output) into
 * dims; returns how many dimensions it has, 0 for v out of range. */
size_t greenai_edge_value_shape(const greenai_edge_model* model, size_t v, size_t dims[3]);
/* Elements per example of the input (float32) and of the output (float32). */
size_t greenai_edge_input_size(const greenai_edge_model* model);
size_t greenai_edge_output_size(const greenai_edge_model* model);
/* Runs `batch` examples: input holds input_count floats, which must be batch x input_size;
 * output receives batch x output_size floats (output_capacity is its size in floats). A wrong
 * input_count is GREENAI_EDGE_ERROR_ARGUMENT with the expected size in the message. */
greenai_edge_status greenai_edge_infer(greenai_edge_model* model, int batch, const float* input,
                                       size_t input_count, float* output, size_t output_capacity);
/* The reason of the model's last failed call, or "". */
const char* greenai_edge_last_error(const greenai_edge_model* model);
/* Bytes of the activation arena planned at load. */
size_t greenai_edge_arena_bytes(const greenai_edge_model* model);
/* Name of the kernel set the model runs on: "avx512-vnni", "avx-vnni", "avx2" (x86),
 * "neon-dotprod", "neon" (ARM64) or "reference". */
const char* greenai_edge_kernels(const greenai_edge_model* model);
/* The set a model loaded now would run on: the best this CPU runs, or the one the environment
 * variable GREENAI_EDGE_KERNELS names; "" when that names no set this CPU runs (loading then fails
 * with GREENAI_EDGE_ERROR_ARGUMENT). */
const char* greenai_edge_selected_kernels(void);
/* Writes the names of the sets this CPU runs, best first, separated by ", ", into names
 * (truncated to size bytes, terminated). */
void greenai_edge_runnable_kernels(char* names, size_t size);
void greenai_edge_free(greenai_edge_model* model);

#ifdef __cplusplus
}
#endif

#endif /* GREENAI_EDGE_GREENAI_EDGE_H_ */
