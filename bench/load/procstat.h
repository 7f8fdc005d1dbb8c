/*
 * procstat.h: what the load generators read of the processes they measure
 * (/proc): a server's CPU time and resident memory, a CPU's busy time, their
 * own CPU time. Linux only, libc only.
 */
#ifndef SB_BENCH_PROCSTAT_H
#define SB_BENCH_PROCSTAT_H

/* utime + stime of process pid (all its threads), in seconds; -1 when pid is
 * 0 or unreadable. */
double procstat_cpu(int pid);
/* VmRSS of process pid in kB; -1 when pid is 0 or unreadable. */
long procstat_rss_kb(int pid);
/* Busy and total seconds of CPU `core` (/proc/stat cpuN), for how much of
 * the server's core other processes took: the machine may be shared. Both
 * -1 when unreadable. */
void procstat_core(int core, double out[2]);
/* The calling process's own utime + stime, in seconds. */
double procstat_self_cpu(void);

#endif
