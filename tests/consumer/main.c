/* Uses the installed C API: track a little work, print the energy. */
#include <greenai/greenai.h>
#include <stdio.h>

int main(void) {
  greenai_tracker_options options;
  greenai_tracker_options_init(&options);
  options.country = "FR";
  options.background_sampler = 0;
  greenai_tracker* tracker;
  if (greenai_tracker_create(&options, &tracker) != GREENAI_OK) {
    fprintf(stderr, "%s\n", greenai_last_error());
    return 1;
  }
  greenai_tracker_start(tracker);
  volatile double x = 0;
  for (long i = 0; i < 20000000; ++i) x = x + 1.0;
  greenai_energy total;
  greenai_tracker_stop(tracker, &total);
  greenai_tracker_destroy(tracker);
  printf("consumer: %.3f J, %.3g kg CO2eq (%s)\n", total.total_j, total.emissions_kg,
         total.estimated ? "estimated" : "measured");
  return total.duration_s > 0 ? 0 : 1;
}
