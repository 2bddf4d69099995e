# Writes Taylor's (2003) half-hourly electricity demand of England and Wales, summer 2000 (the
# `taylor` series of Debian's r-cran-forecast), as `timestamp,demand_mw` CSV on standard output.
# The series starts on Monday 5 June 2000 at 00:00 local clock time; it carries no time zone, so
# the timestamps are written as UTC.
#   Rscript tools/export_taylor.R > taylor_demand_2000.csv
demand <- as.numeric(forecast::taylor)
times <- seq(as.POSIXct("2000-06-05 00:00", tz = "UTC"), by = "30 min", length.out = length(demand))
write.csv(data.frame(timestamp = format(times, "%Y-%m-%dT%H:%M:%SZ"), demand_mw = demand),
          stdout(), row.names = FALSE, quote = FALSE)
