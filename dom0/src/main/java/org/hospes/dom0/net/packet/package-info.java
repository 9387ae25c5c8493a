/**
 * Ethernet, ARP, IPv4, ICMP, UDP, TCP and DHCP on byte arrays: one class per header with its
 * offset constants, static accessors that read a frame in place (no objects per packet), checked
 * parsers that return -1/false instead of throwing on malformed input, and builders that produce
 * whole frames with correct checksums. Addresses are primitives: IPv4 as an int, MAC as a long.
 */
package org.hospes.dom0.net.packet;
