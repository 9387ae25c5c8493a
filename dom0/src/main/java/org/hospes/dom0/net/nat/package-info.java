/**
 * The NAT topology of dom0's virtual switch: {@link org.hospes.dom0.net.nat.NatGateway}, a switch
 * port that plays the router of a QEMU-style user network (10.0.2.0/24, gateway 10.0.2.2 =
 * the host's 127.0.0.1, DHCP from 10.0.2.15) and carries guests' TCP and UDP flows on host
 * sockets, plus port forwards from the host into guests.
 */
package org.hospes.dom0.net.nat;
