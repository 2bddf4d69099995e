/* The C API of the GreenAI tracker, for other languages (Python ctypes, Rust, Go, ...).
 *
 * Every function returns GREENAI_OK (0) or an error code; greenai_last_error() then gives a
 * one-line message for the calling thread. No C++ exception crosses this API.
 *
 *   greenai_tracker_options options;
 *   greenai_tracker_options_init(&options);
 *   options.country = "FR";
 *   greenai_tracker* tracker;
 *   if (greenai_tracker_create(&options, &tracker) != GREENAI_OK) puts(greenai_last_error());
 *   greenai_tracker_start(tracker);
 *   ... work ...
 *   greenai_energy total;
 *   greenai_tracker_stop(tracker, &total);
 *   greenai_tracker_destroy(tracker);
 */
#ifndef GREENAI_GREENAI_H_
#define GREENAI_GREENAI_H_

#ifdef __cplusplus
extern "C" {
#endif

enum {
  GREENAI_OK = 0,
  GREENAI_ERROR_INVALID_ARGUMENT = 1, /* bad option value, unknown country, unwritable file */
  GREENAI_ERROR_STATE = 2,            /* e.g. step() before start() */
  GREENAI_ERROR_INTERNAL = 3
};

typedef struct greenai_tracker greenai_tracker;

typedef struct {
  double interval_s;            /* seconds between records; default 1.0 */
  double pue;                   /* power usage effectiveness; default 1.0 */
  double intensity_g_per_kwh;   /* explicit grid intensity; negative = unset (default) */
  const char* intensity_series; /* CSV time series path, or NULL */
  const char* country;          /* ISO 3166-1 alpha-2/alpha-3, or NULL for the world average */
  const char* project_name;     /* default "greenai" */
  const char* csv_path;         /* CodeCarbon-compatible CSV to append to, or NULL */
  const char* json_path;        /* JSON lines to append to, or NULL */
  int background_sampler;       /* non-zero: sample on a thread (default 1) */
} greenai_tracker_options;

/* Energy and carbon of the tracked process, over a step or a run. */
typedef struct {
  double duration_s;
  double cpu_j, ram_j, gpu_j, total_j; /* joules attributed to this process */
  double emissions_kg;                 /* kg CO2eq, PUE included */
  int estimated;                       /* non-zero if any figure is estimated, not measured */
} greenai_energy;

void greenai_tracker_options_init(greenai_tracker_options* options);
int greenai_tracker_create(const greenai_tracker_options* options, greenai_tracker** tracker);
int greenai_tracker_start(greenai_tracker* tracker);
int greenai_tracker_begin_phase(greenai_tracker* tracker, const char* name);
int greenai_tracker_end_phase(greenai_tracker* tracker);
/* Energy since the previous step (or start). */
int greenai_tracker_step(greenai_tracker* tracker, greenai_energy* energy);
int greenai_tracker_stop(greenai_tracker* tracker, greenai_energy* total);
void greenai_tracker_destroy(greenai_tracker* tracker);
/* Reports the end of one step (a training step, a batch of requests) to a
 * `greenai tune --knob K -- CMD` that runs this process: it profiles its knob over the first
 * steps, then holds the best value. Outside one it does nothing and costs a getenv once.
 * Returns the thread count tune asks this process to run with from now on (--knob threads; the
 * caller applies it, as GreenAI's trainer does with torch::set_num_threads), or 0 for none. */
int greenai_step(void);

/* What `greenai tune MODEL --write FILE` recommended for serving a model here: the file to
 * load, its precision ("fp32", "bf16" or "int8"), the runtime ("libtorch", or "edge" for the
 * edge runtime), LibTorch's thread count and the batch size to group requests into. */
typedef struct {
  char model[4096];
  char precision[8];
  char runtime[16];
  int threads;
  int batch;
} greenai_tuned_config;
/* Reads FILE into *config; GREENAI_ERROR_INVALID_ARGUMENT (greenai_last_error() says which
 * field and how to fix it) for a missing, malformed or too long entry. */
int greenai_tuned_config_load(const char* path, greenai_tuned_config* config);

/* The last error of the calling thread, or "" if none. Valid until the next call. */
const char* greenai_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* GREENAI_GREENAI_H_ */
