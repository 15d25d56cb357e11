/*
 * A Java test program (test/fork/runtimes, test/dap/jvm), compiled at test
 * time with the JDK's javac (Debian: default-jdk-headless, .ci/run).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { which } from './paths';

// Busy.java: 4 workers that allocate and print through the JVM with the
// pid and tid the kernel gives them (/proc/thread-self), main calling
// System.gc() before every tick: a full collection stops every Java thread
// at a safepoint, so one thread missing or broken in the child hangs it. A fifth
// thread spins in compiled code half the time (HotSpot's polls fault there).
export const JAVA_BUSY_SOURCE = `
import java.io.File;
public class Busy {
    static volatile long sink;
    static String self() {
        try { return new File("/proc/thread-self").getCanonicalPath(); } catch (Exception e) { return "?"; }
    }
    static synchronized void say(String name, long n) {
        String[] p = self().split("/");
        System.out.println("JV " + p[2] + " " + p[4] + " " + name + " " + n);
    }
    public static void main(String[] a) throws Exception {
        for (int i = 0; i < 4; i++) {
            final String name = "w" + i;
            Thread t = new Thread(() -> {
                long n = 0;
                java.util.List<int[]> keep = new java.util.ArrayList<>();
                while (true) {
                    for (int k = 0; k < 200; k++) keep.add(new int[256]);
                    if (keep.size() > 4000) keep.clear();
                    say(name, ++n);
                    try { Thread.sleep(50); } catch (InterruptedException e) { return; }
                }
            });
            t.setDaemon(true);
            t.start();
        }
        // a thread in compiled Java code half the time: HotSpot's safepoint polls in its loop fault
        // (SIGSEGV) whenever a safepoint (main's System.gc()) finds it there
        Thread spin = new Thread(() -> {
            long sum = 0;
            while (true) {
                long until = System.nanoTime() + 5_000_000L;
                while (System.nanoTime() < until) for (int k = 0; k < 1000; k++) sum += k ^ (sum >>> 3);
                sink = sum;
                try { Thread.sleep(5); } catch (InterruptedException e) { return; }
            }
        });
        spin.setDaemon(true);
        spin.start();
        Thread.sleep(300);
        String[] p = self().split("/");
        System.out.println("{\\"pid\\":" + p[2] + "}");
        System.out.println("READY");
        long n = 0;
        while (true) {
            System.gc();
            say("main", ++n);
            Thread.sleep(50);
        }
    }
}
`;

/** Why a Java test cannot run here, or false. */
export function javaSkip(): string | false {
	return which('javac') && which('java') ? false : 'no java/javac (Debian: default-jdk-headless)';
}

/** Busy.java compiled into dir/java; returns the class path. */
export function compileJavaBusy(dir: string): string {
	const classes = path.join(dir, 'java');
	fs.mkdirSync(classes, { recursive: true });
	fs.writeFileSync(path.join(dir, 'Busy.java'), JAVA_BUSY_SOURCE);
	execFileSync(which('javac')!, ['-d', classes, path.join(dir, 'Busy.java')], { stdio: 'pipe' });
	return classes;
}
