package org.hospes.dom0.boot;

/**
 * A boot module (an initrd, a file for the guest) with its own command line, as a loader hands
 * it to the kernel: PVH's modlist, and later Multiboot's module list.
 *
 * @param cmdline the module's string, or null for none
 */
public record BootModule(byte[] data, String cmdline) {}
