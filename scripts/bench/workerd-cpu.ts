/**
 * CPU time of the Worker's workerd processes under wrangler dev, read from /proc (Linux only).
 * workerd runs as a descendant of the bench's own process (wrangler's `unstable_dev`).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/**
 * CPU seconds of the workerd processes started by this process: wrangler dev's proxy, which
 * listens on the Worker's URL (`--socket-addr=entry=127.0.0.1:<port>`), and the rest (the Worker
 * with its local D1, KV, Queues and Durable Objects).
 */
export function workerdSeconds(proxyPort: number): { worker: number; proxy: number } | null {
  try {
    clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    const stats = new Map<number, { ppid: number; comm: string; ticks: number }>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let text: string;
      try {
        text = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      // "pid (comm) state ppid ...": the fields after the comm's closing parenthesis, utime and stime at 12 and 13.
      const close = text.lastIndexOf(")");
      const fields = text.slice(close + 2).split(" ");
      stats.set(Number(entry), {
        ppid: Number(fields[1]),
        comm: text.slice(text.indexOf("(") + 1, close),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    }
    const descends = (pid: number): boolean => {
      for (let at = stats.get(pid), hops = 0; at && hops < 10; at = stats.get(at.ppid), hops++) {
        if (at.ppid === process.pid) return true;
      }
      return false;
    };
    let worker = 0;
    let proxy = 0;
    for (const [pid, stat] of stats) {
      if (stat.comm !== "workerd" || !descends(pid)) continue;
      let args = "";
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      if (args.includes(`entry=127.0.0.1:${proxyPort}\0`)) proxy += stat.ticks;
      else worker += stat.ticks;
    }
    return { worker: worker / clockTicks, proxy: proxy / clockTicks };
  } catch {
    return null;
  }
}
