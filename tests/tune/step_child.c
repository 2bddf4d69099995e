/* A stand-in for a training job under `greenai tune --knob`: runs STEPS steps of about MS
 * milliseconds of CPU work each, reports each with greenai_step(), and appends one line per step
 * to OUT: the thread count the tuner asked for and, when WATCH is given, what that file holds
 * (the knob's file, as the job sees it mid-run). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "greenai/greenai.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: step_child STEPS MS OUT [WATCH]\n");
    return 2;
  }
  const int steps = atoi(argv[1]);
  const double seconds = atof(argv[2]) / 1000;
  FILE* out = fopen(argv[3], "w");
  if (!out) return 3;
  volatile double sink = 0;
  for (int i = 0; i < steps; ++i) {
    const double end = now_s() + seconds;
    while (now_s() < end) sink += 1e-9;
    const int threads = greenai_step();
    char watched[64] = "-";
    if (argc > 4) {
      FILE* w = fopen(argv[4], "r");
      if (w) {
        if (!fgets(watched, sizeof watched, w)) watched[0] = '\0';
        fclose(w);
        for (char* c = watched; *c; ++c)
          if (*c == '\n') *c = '\0';
      }
    }
    fprintf(out, "%d %s\n", threads, watched);
  }
  fclose(out);
  return sink < 0 ? 1 : 0;
}
