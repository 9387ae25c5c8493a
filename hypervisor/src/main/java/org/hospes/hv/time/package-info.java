/**
 * Virtual time. The machine's "now" is a count of processor cycles ({@link
 * org.hospes.hv.time.VirtualClock}), never the host's clock, so that two runs of the same guest
 * see identical timer interrupts at identical instructions. Devices that need to act at a future
 * time arm a {@link org.hospes.hv.time.Timer} on a {@link org.hospes.hv.time.TimerQueue}; the
 * machine's run loop runs the processor only up to the earliest deadline.
 */
package org.hospes.hv.time;
