/* dengbao agent's network sensor, in a child process of its own (agent_sensor.c). */
#ifndef DBG_CLI_AGENT_SENSOR_H
#define DBG_CLI_AGENT_SENSOR_H

#include <signal.h>
#include <sys/types.h>

#include "dengbao/sensor.h"

typedef struct agent_sensor agent_sensor;

/* Forks the sensor (o->run_as set: it gives up root once its capture is open). Call it while
 * the process has one thread and holds nothing the sensor must not: NULL with dbg_err set. */
agent_sensor *agent_sensor_start(const dbg_sensor_run_opts *o);
/* Writes the statuses the sensor sent to status_dir/sensor.json; -1 (dbg_err set) once the
 * sensor process has ended. Call it at least once a second: the sensor waits on a full pipe. */
int agent_sensor_poll(agent_sensor *s, const char *status_dir);
/* Waits until the sensor captures (its first status, written to status_dir): 0; -1 (dbg_err
 * set) when its process ended instead (no interface could be opened, the inventory from
 * libvirt failed, ...); 1 when SIGTERM or SIGINT came first (stop, blocked in the caller, is
 * waited on: other signals in it are taken and ignored); 2 when timeout_s seconds passed
 * without either, the sensor process then killed (agent_sensor_stop still reaps it). */
int agent_sensor_wait_ready(agent_sensor *s, const char *status_dir, const sigset_t *stop,
                            int timeout_s);
pid_t agent_sensor_pid(const agent_sensor *s);
/* The start-up step the sensor said it began last ("collecting its inventory from libvirt
 * (URI)", printable), or "" when it said none: what it was doing when it did not report. */
const char *agent_sensor_step(const agent_sensor *s);
/* SIGTERM, its last statuses written (status_dir NULL: dropped), reaped, freed. -1 (dbg_err
 * set) when it had failed, or could not be signalled (no CAP_KILL: then it is left running,
 * not waited for). NULL is a no-op. */
int agent_sensor_stop(agent_sensor *s, const char *status_dir);

#endif
