/*
 * rdtsc: prints the time-stamp counter (RDTSC, SDM Vol. 2B) in decimal and exits. The
 * initramfs's /init prints it right after its marker (`VMXRS-INIT-TSC <n>`), so that
 * `cargo ci run --compare` counts the emulated instructions from kernel entry to the init
 * in both the bare and the virtualized boot (Bochs's TSC counts emulated instructions).
 * Freestanding: no libc, two Linux system calls (write, exit), built by the ci tool with
 * `gcc -static -nostdlib`.
 */
static long sys_call3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	unsigned int lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	unsigned long long t = ((unsigned long long)hi << 32) | lo;
	char buf[24];
	int i = sizeof(buf) - 1;
	buf[i] = '\n';
	do {
		buf[--i] = (char)('0' + t % 10);
		t /= 10;
	} while (t != 0);
	sys_call3(1, 1, (long)(buf + i), (long)(sizeof(buf) - i));
	sys_call3(60, 0, 0, 0);
	for (;;)
		;
}
