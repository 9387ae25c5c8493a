package org.hospes.dom0.net;

/**
 * One port of dom0's virtual switch: anything that exchanges Ethernet frames with it (a netback vif,
 * the NAT gateway, a capture tap, a host uplink).
 *
 * <p>The switch calls {@link #deliver} to hand the port a frame; the port hands frames to the switch
 * through the {@link FrameSink} it was {@linkplain #attach attached} with. Frames are whole Ethernet II
 * frames (destination MAC first, no FCS). Implementations copy what they keep: the caller may reuse
 * the array after the call returns.
 */
public interface SwitchPort {

    /** A short name for logs and capture files, such as {@code vif3.0} or {@code nat0}. */
    String name();

    /** Connects the port to the switch: frames the port emits go to {@code toSwitch}. */
    void attach(FrameSink toSwitch);

    /** A frame from the switch to this port. */
    void deliver(byte[] frame, int offset, int length);

    /** Where a port sends its frames. */
    @FunctionalInterface
    interface FrameSink {
        void send(SwitchPort from, byte[] frame, int offset, int length);
    }
}
