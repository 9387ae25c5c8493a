package org.hospes.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.hospes.abi.EventChannelOp;
import org.hospes.abi.GrantTableOp;
import org.hospes.abi.HvmOp;
import org.hospes.abi.Hypercall;
import org.hospes.abi.MemoryOp;
import org.hospes.abi.Netif;
import org.hospes.abi.SchedOp;
import org.hospes.abi.SharedInfo;
import org.hospes.abi.XenCpuid;
import org.hospes.abi.XenErrno;
import org.hospes.abi.XenVersion;
import org.hospes.abi.VcpuOp;
import org.hospes.dom0.backend.console.ConsoleBackend;
import org.hospes.dom0.boot.PvhLoader;
import org.hospes.dom0.xenstore.XsWire;
import org.junit.jupiter.api.Test;

/**
 * The C SDK's constants and struct layouts equal the Java ABI definitions: a guest compiled with
 * the SDK prints every size, offset and value (NAME=value), and each must match.
 */
class AbiConsistencyTest {

  private static Map<String, Long> expected() {
    Map<String, Long> e = new LinkedHashMap<>();
    for (String h : List.of("memory_op", "xen_version", "console_io", "grant_table_op",
        "vcpu_op", "sched_op", "event_channel_op", "hvm_op")) {
      e.put("__HYPERVISOR_" + h, (long) Hypercall.valueOf(h.toUpperCase()).number());
    }
    for (String n : List.of("EPERM", "ENOENT", "EIO", "E2BIG", "EAGAIN", "ENOMEM", "EACCES",
        "EFAULT", "EBUSY", "EEXIST", "EINVAL", "ENOSPC", "EROFS", "ENOSYS", "ENOTEMPTY",
        "EISCONN")) {
      e.put("XEN_" + n, (long) -XenErrno.valueOf(n).negated());
    }
    e.put("DOMID_SELF", (long) EventChannelOp.DOMID_SELF);
    e.put("XEN_CPUID_FIRST_LEAF", (long) XenCpuid.BASE);
    e.put("XEN_CPUID_SIGNATURE_EBX", (long) XenCpuid.SIGNATURE_EBX);
    e.put("XEN_CPUID_SIGNATURE_ECX", (long) XenCpuid.SIGNATURE_ECX);
    e.put("XEN_CPUID_SIGNATURE_EDX", (long) XenCpuid.SIGNATURE_EDX);
    e.put("XENVER_version", (long) XenVersion.VERSION);
    e.put("XENVER_extraversion", (long) XenVersion.EXTRAVERSION);
    e.put("XENVER_get_features", (long) XenVersion.GET_FEATURES);
    e.put("SCHEDOP_yield", (long) SchedOp.YIELD);
    e.put("SCHEDOP_block", (long) SchedOp.BLOCK);
    e.put("SCHEDOP_shutdown", (long) SchedOp.SHUTDOWN);
    e.put("SHUTDOWN_poweroff", (long) SchedOp.SHUTDOWN_POWEROFF);
    e.put("SHUTDOWN_reboot", (long) SchedOp.SHUTDOWN_REBOOT);
    e.put("SHUTDOWN_crash", (long) SchedOp.SHUTDOWN_CRASH);
    e.put("EVTCHNOP_bind_interdomain", (long) EventChannelOp.BIND_INTERDOMAIN);
    e.put("EVTCHNOP_bind_virq", (long) EventChannelOp.BIND_VIRQ);
    e.put("EVTCHNOP_close", (long) EventChannelOp.CLOSE);
    e.put("EVTCHNOP_send", (long) EventChannelOp.SEND);
    e.put("EVTCHNOP_status", (long) EventChannelOp.STATUS);
    e.put("EVTCHNOP_alloc_unbound", (long) EventChannelOp.ALLOC_UNBOUND);
    e.put("EVTCHNOP_bind_ipi", (long) EventChannelOp.BIND_IPI);
    e.put("EVTCHNOP_bind_vcpu", (long) EventChannelOp.BIND_VCPU);
    e.put("EVTCHNOP_unmask", (long) EventChannelOp.UNMASK);
    e.put("EVTCHNSTAT_closed", (long) EventChannelOp.STATUS_CLOSED);
    e.put("EVTCHNSTAT_unbound", (long) EventChannelOp.STATUS_UNBOUND);
    e.put("EVTCHNSTAT_interdomain", (long) EventChannelOp.STATUS_INTERDOMAIN);
    e.put("EVTCHNSTAT_virq", (long) EventChannelOp.STATUS_VIRQ);
    e.put("EVTCHNSTAT_ipi", (long) EventChannelOp.STATUS_IPI);
    e.put("VIRQ_TIMER", (long) EventChannelOp.VIRQ_TIMER);
    e.put("VIRQ_DEBUG", (long) EventChannelOp.VIRQ_DEBUG);
    e.put("VIRQ_CONSOLE", (long) EventChannelOp.VIRQ_CONSOLE);
    e.put("NR_EVENT_CHANNELS", (long) SharedInfo.NR_PORTS);
    e.put("sizeof(evtchn_alloc_unbound)", (long) EventChannelOp.ALLOC_UNBOUND_SIZE);
    e.put("offsetof(evtchn_alloc_unbound,dom)", (long) EventChannelOp.ALLOC_UNBOUND_DOM);
    e.put("offsetof(evtchn_alloc_unbound,remote_dom)",
        (long) EventChannelOp.ALLOC_UNBOUND_REMOTE_DOM);
    e.put("offsetof(evtchn_alloc_unbound,port)", (long) EventChannelOp.ALLOC_UNBOUND_PORT);
    e.put("sizeof(evtchn_bind_interdomain)", (long) EventChannelOp.BIND_INTERDOMAIN_SIZE);
    e.put("offsetof(evtchn_bind_interdomain,remote_dom)",
        (long) EventChannelOp.BIND_INTERDOMAIN_REMOTE_DOM);
    e.put("offsetof(evtchn_bind_interdomain,remote_port)",
        (long) EventChannelOp.BIND_INTERDOMAIN_REMOTE_PORT);
    e.put("offsetof(evtchn_bind_interdomain,local_port)",
        (long) EventChannelOp.BIND_INTERDOMAIN_LOCAL_PORT);
    e.put("sizeof(evtchn_bind_virq)", (long) EventChannelOp.BIND_VIRQ_SIZE);
    e.put("offsetof(evtchn_bind_virq,virq)", (long) EventChannelOp.BIND_VIRQ_VIRQ);
    e.put("offsetof(evtchn_bind_virq,vcpu)", (long) EventChannelOp.BIND_VIRQ_VCPU);
    e.put("offsetof(evtchn_bind_virq,port)", (long) EventChannelOp.BIND_VIRQ_PORT);
    e.put("sizeof(evtchn_bind_ipi)", (long) EventChannelOp.BIND_IPI_SIZE);
    e.put("offsetof(evtchn_bind_ipi,vcpu)", (long) EventChannelOp.BIND_IPI_VCPU);
    e.put("offsetof(evtchn_bind_ipi,port)", (long) EventChannelOp.BIND_IPI_PORT);
    e.put("sizeof(evtchn_send)", (long) EventChannelOp.PORT_ONLY_SIZE);
    e.put("sizeof(evtchn_close)", (long) EventChannelOp.PORT_ONLY_SIZE);
    e.put("sizeof(evtchn_unmask)", (long) EventChannelOp.PORT_ONLY_SIZE);
    e.put("sizeof(evtchn_status)", (long) EventChannelOp.STATUS_SIZE);
    e.put("offsetof(evtchn_status,dom)", (long) EventChannelOp.STATUS_DOM);
    e.put("offsetof(evtchn_status,port)", (long) EventChannelOp.STATUS_PORT);
    e.put("offsetof(evtchn_status,status)", (long) EventChannelOp.STATUS_STATUS);
    e.put("offsetof(evtchn_status,vcpu)", (long) EventChannelOp.STATUS_VCPU);
    e.put("offsetof(evtchn_status,u)", (long) EventChannelOp.STATUS_UNION);
    e.put("HVMOP_set_param", (long) HvmOp.SET_PARAM);
    e.put("HVMOP_get_param", (long) HvmOp.GET_PARAM);
    e.put("sizeof(xen_hvm_param)", (long) HvmOp.PARAM_SIZE);
    e.put("offsetof(xen_hvm_param,domid)", (long) HvmOp.PARAM_DOMID);
    e.put("offsetof(xen_hvm_param,index)", (long) HvmOp.PARAM_INDEX);
    e.put("offsetof(xen_hvm_param,value)", (long) HvmOp.PARAM_VALUE);
    e.put("HVM_PARAM_CALLBACK_IRQ", (long) HvmOp.PARAM_CALLBACK_IRQ);
    e.put("HVM_PARAM_STORE_PFN", (long) HvmOp.PARAM_STORE_PFN);
    e.put("HVM_PARAM_STORE_EVTCHN", (long) HvmOp.PARAM_STORE_EVTCHN);
    e.put("HVM_PARAM_CONSOLE_PFN", (long) HvmOp.PARAM_CONSOLE_PFN);
    e.put("HVM_PARAM_CONSOLE_EVTCHN", (long) HvmOp.PARAM_CONSOLE_EVTCHN);
    e.put("HVM_PARAM_CALLBACK_TYPE_VECTOR", (long) HvmOp.CALLBACK_TYPE_VECTOR);
    e.put("XENMEM_current_reservation", (long) MemoryOp.CURRENT_RESERVATION);
    e.put("XENMEM_add_to_physmap", (long) MemoryOp.ADD_TO_PHYSMAP);
    e.put("XENMEM_memory_map", (long) MemoryOp.MEMORY_MAP);
    e.put("XENMAPSPACE_shared_info", (long) MemoryOp.SPACE_SHARED_INFO);
    e.put("XENMAPSPACE_grant_table", (long) MemoryOp.SPACE_GRANT_TABLE);
    e.put("sizeof(xen_add_to_physmap)", (long) MemoryOp.ATP_SIZE);
    e.put("offsetof(xen_add_to_physmap,domid)", (long) MemoryOp.ATP_DOMID);
    e.put("offsetof(xen_add_to_physmap,space)", (long) MemoryOp.ATP_SPACE);
    e.put("offsetof(xen_add_to_physmap,idx)", (long) MemoryOp.ATP_IDX);
    e.put("offsetof(xen_add_to_physmap,gpfn)", (long) MemoryOp.ATP_GPFN);
    e.put("sizeof(vcpu_time_info)", 32L);
    e.put("offsetof(vcpu_time_info,version)", (long) SharedInfo.TIME_VERSION);
    e.put("offsetof(vcpu_time_info,tsc_timestamp)", (long) SharedInfo.TIME_TSC_TIMESTAMP);
    e.put("offsetof(vcpu_time_info,system_time)", (long) SharedInfo.TIME_SYSTEM_TIME);
    e.put("offsetof(vcpu_time_info,tsc_to_system_mul)",
        (long) SharedInfo.TIME_TSC_TO_SYSTEM_MUL);
    e.put("offsetof(vcpu_time_info,tsc_shift)", (long) SharedInfo.TIME_TSC_SHIFT);
    e.put("offsetof(vcpu_time_info,flags)", (long) SharedInfo.TIME_FLAGS);
    e.put("sizeof(vcpu_info)", (long) SharedInfo.VCPU_INFO_SIZE);
    e.put("offsetof(vcpu_info,evtchn_upcall_pending)", (long) SharedInfo.VI_UPCALL_PENDING);
    e.put("offsetof(vcpu_info,evtchn_upcall_mask)", (long) SharedInfo.VI_UPCALL_MASK);
    e.put("offsetof(vcpu_info,evtchn_pending_sel)", (long) SharedInfo.VI_PENDING_SEL);
    e.put("offsetof(vcpu_info,arch)", (long) SharedInfo.VI_ARCH);
    e.put("offsetof(vcpu_info,time)", (long) SharedInfo.VI_TIME);
    e.put("sizeof(shared_info)", (long) SharedInfo.SIZE);
    e.put("offsetof(shared_info,evtchn_pending)", (long) SharedInfo.EVTCHN_PENDING);
    e.put("offsetof(shared_info,evtchn_mask)", (long) SharedInfo.EVTCHN_MASK);
    e.put("offsetof(shared_info,wc_version)", (long) SharedInfo.WC_VERSION);
    e.put("offsetof(shared_info,wc_sec)", (long) SharedInfo.WC_SEC);
    e.put("offsetof(shared_info,wc_nsec)", (long) SharedInfo.WC_NSEC);
    e.put("offsetof(shared_info,arch)", (long) SharedInfo.ARCH);
    e.put("offsetof(shared_info,wc_sec_hi)", (long) SharedInfo.WC_SEC_HI);
    e.put("sizeof(xsd_sockmsg)", (long) XsWire.HEADER_SIZE);
    e.put("offsetof(xsd_sockmsg,type)", 0L);
    e.put("offsetof(xsd_sockmsg,req_id)", 4L);
    e.put("offsetof(xsd_sockmsg,tx_id)", 8L);
    e.put("offsetof(xsd_sockmsg,len)", 12L);
    e.put("XENSTORE_PAYLOAD_MAX", (long) XsWire.PAYLOAD_MAX);
    e.put("XENSTORE_RING_SIZE", (long) XsWire.RING_SIZE);
    String[][] types = {{"XS_DIRECTORY", "DIRECTORY"}, {"XS_READ", "READ"},
        {"XS_GET_PERMS", "GET_PERMS"}, {"XS_WATCH", "WATCH"}, {"XS_UNWATCH", "UNWATCH"},
        {"XS_TRANSACTION_START", "TRANSACTION_START"},
        {"XS_TRANSACTION_END", "TRANSACTION_END"}, {"XS_INTRODUCE", "INTRODUCE"},
        {"XS_RELEASE", "RELEASE"}, {"XS_GET_DOMAIN_PATH", "GET_DOMAIN_PATH"},
        {"XS_WRITE", "WRITE"}, {"XS_MKDIR", "MKDIR"}, {"XS_RM", "RM"},
        {"XS_SET_PERMS", "SET_PERMS"}, {"XS_WATCH_EVENT", "WATCH_EVENT"},
        {"XS_ERROR", "ERROR"}, {"XS_IS_DOMAIN_INTRODUCED", "IS_DOMAIN_INTRODUCED"},
        {"XS_RESET_WATCHES", "RESET_WATCHES"}, {"XS_DIRECTORY_PART", "DIRECTORY_PART"}};
    for (String[] t : types) {
      try {
        e.put(t[0], (long) XsWire.class.getField(t[1]).getInt(null));
      } catch (ReflectiveOperationException ex) {
        throw new AssertionError(ex);
      }
    }
    String x = "offsetof(xenstore_domain_interface,";
    e.put(x + "req)", (long) XsWire.REQ);
    e.put(x + "rsp)", (long) XsWire.RSP);
    e.put(x + "req_cons)", (long) XsWire.REQ_CONS);
    e.put(x + "req_prod)", (long) XsWire.REQ_PROD);
    e.put(x + "rsp_cons)", (long) XsWire.RSP_CONS);
    e.put(x + "rsp_prod)", (long) XsWire.RSP_PROD);
    e.put(x + "server_features)", (long) XsWire.SERVER_FEATURES);
    e.put(x + "connection)", (long) XsWire.CONNECTION);
    e.put(x + "error)", (long) XsWire.ERROR_FIELD);
    e.put(x + "evtchn_port)", (long) XsWire.EVTCHN_PORT);
    String c = "offsetof(xencons_interface,";
    e.put(c + "in)", (long) ConsoleBackend.IN);
    e.put(c + "out)", (long) ConsoleBackend.OUT);
    e.put(c + "in_cons)", (long) ConsoleBackend.IN_CONS);
    e.put(c + "in_prod)", (long) ConsoleBackend.IN_PROD);
    e.put(c + "out_cons)", (long) ConsoleBackend.OUT_CONS);
    e.put(c + "out_prod)", (long) ConsoleBackend.OUT_PROD);
    e.put("XEN_HVM_START_MAGIC_VALUE", (long) PvhLoader.START_INFO_MAGIC);
    e.put("sizeof(hvm_start_info)", (long) PvhLoader.SI_SIZE);
    String s = "offsetof(hvm_start_info,";
    e.put(s + "magic)", (long) PvhLoader.SI_MAGIC);
    e.put(s + "version)", (long) PvhLoader.SI_VERSION);
    e.put(s + "flags)", (long) PvhLoader.SI_FLAGS);
    e.put(s + "nr_modules)", (long) PvhLoader.SI_NR_MODULES);
    e.put(s + "modlist_paddr)", (long) PvhLoader.SI_MODLIST);
    e.put(s + "cmdline_paddr)", (long) PvhLoader.SI_CMDLINE);
    e.put(s + "rsdp_paddr)", (long) PvhLoader.SI_RSDP);
    e.put(s + "memmap_paddr)", (long) PvhLoader.SI_MEMMAP);
    e.put(s + "memmap_entries)", (long) PvhLoader.SI_MEMMAP_ENTRIES);
    e.put("sizeof(hvm_memmap_table_entry)", (long) PvhLoader.MEMMAP_ENTRY_SIZE);
    e.put("XEN_ETIME", (long) -XenErrno.ETIME.negated());
    e.put("VCPUOP_set_singleshot_timer", (long) VcpuOp.SET_SINGLESHOT_TIMER);
    e.put("VCPUOP_stop_singleshot_timer", (long) VcpuOp.STOP_SINGLESHOT_TIMER);
    e.put("VCPU_SSHOTTMR_future", (long) VcpuOp.SSHOTTMR_FUTURE);
    e.put("sizeof(vcpu_set_singleshot_timer)", (long) VcpuOp.SSHOT_SIZE);
    e.put("offsetof(vcpu_set_singleshot_timer,timeout_abs_ns)", (long) VcpuOp.SSHOT_TIMEOUT);
    e.put("offsetof(vcpu_set_singleshot_timer,flags)", (long) VcpuOp.SSHOT_FLAGS);
    e.put("GNTTABOP_map_grant_ref", (long) GrantTableOp.MAP_GRANT_REF);
    e.put("GNTTABOP_unmap_grant_ref", (long) GrantTableOp.UNMAP_GRANT_REF);
    e.put("GNTTABOP_setup_table", (long) GrantTableOp.SETUP_TABLE);
    e.put("GNTTABOP_copy", (long) GrantTableOp.COPY);
    e.put("GNTTABOP_query_size", (long) GrantTableOp.QUERY_SIZE);
    e.put("GNTTABOP_set_version", (long) GrantTableOp.SET_VERSION);
    e.put("GNTTABOP_get_version", (long) GrantTableOp.GET_VERSION);
    e.put("GTF_permit_access", (long) GrantTableOp.GTF_PERMIT_ACCESS);
    e.put("GTF_readonly", (long) GrantTableOp.GTF_READONLY);
    e.put("GTF_reading", (long) GrantTableOp.GTF_READING);
    e.put("GTF_writing", (long) GrantTableOp.GTF_WRITING);
    e.put("GNTMAP_host_map", (long) GrantTableOp.GNTMAP_HOST_MAP);
    e.put("GNTMAP_readonly", (long) GrantTableOp.GNTMAP_READONLY);
    e.put("GNTCOPY_source_gref", (long) GrantTableOp.GNTCOPY_SOURCE_GREF);
    e.put("GNTCOPY_dest_gref", (long) GrantTableOp.GNTCOPY_DEST_GREF);
    e.put("GNTST_okay", (long) GrantTableOp.GNTST_OKAY);
    e.put("GNTST_general_error", (long) GrantTableOp.GNTST_GENERAL_ERROR);
    e.put("GNTST_bad_domain", (long) GrantTableOp.GNTST_BAD_DOMAIN);
    e.put("GNTST_bad_gntref", (long) GrantTableOp.GNTST_BAD_GNTREF);
    e.put("GNTST_bad_handle", (long) GrantTableOp.GNTST_BAD_HANDLE);
    e.put("GNTST_permission_denied", (long) GrantTableOp.GNTST_PERMISSION_DENIED);
    e.put("GNTST_bad_page", (long) GrantTableOp.GNTST_BAD_PAGE);
    e.put("GNTST_eagain", (long) GrantTableOp.GNTST_EAGAIN);
    e.put("GNTTAB_ENTRIES_PER_FRAME", (long) GrantTableOp.ENTRIES_PER_FRAME);
    e.put("GNTTAB_NR_RESERVED_ENTRIES", (long) GrantTableOp.NR_RESERVED_ENTRIES);
    e.put("sizeof(grant_entry_v1)", (long) GrantTableOp.ENTRY_SIZE);
    e.put("offsetof(grant_entry_v1,flags)", (long) GrantTableOp.ENTRY_FLAGS);
    e.put("offsetof(grant_entry_v1,domid)", (long) GrantTableOp.ENTRY_DOMID);
    e.put("offsetof(grant_entry_v1,frame)", (long) GrantTableOp.ENTRY_FRAME);
    e.put("sizeof(gnttab_map_grant_ref)", 32L);
    e.put("offsetof(gnttab_map_grant_ref,host_addr)", (long) GrantTableOp.MAP_HOST_ADDR);
    e.put("offsetof(gnttab_map_grant_ref,flags)", (long) GrantTableOp.MAP_FLAGS);
    e.put("offsetof(gnttab_map_grant_ref,ref)", (long) GrantTableOp.MAP_REF);
    e.put("offsetof(gnttab_map_grant_ref,dom)", (long) GrantTableOp.MAP_DOM);
    e.put("offsetof(gnttab_map_grant_ref,status)", (long) GrantTableOp.MAP_STATUS);
    e.put("offsetof(gnttab_map_grant_ref,handle)", (long) GrantTableOp.MAP_HANDLE);
    e.put("offsetof(gnttab_map_grant_ref,dev_bus_addr)", (long) GrantTableOp.MAP_DEV_BUS_ADDR);
    // netif (io/netif.h, x86_32): the SDK's netfront against dom0's netback's layout.
    e.put("sizeof(netif_tx_request)", (long) Netif.TX_ENTRY_SIZE);
    e.put("offsetof(netif_tx_request,gref)", (long) Netif.TXREQ_GREF);
    e.put("offsetof(netif_tx_request,offset)", (long) Netif.TXREQ_OFFSET);
    e.put("offsetof(netif_tx_request,flags)", (long) Netif.TXREQ_FLAGS);
    e.put("offsetof(netif_tx_request,id)", (long) Netif.TXREQ_ID);
    e.put("offsetof(netif_tx_request,size)", (long) Netif.TXREQ_SIZE);
    e.put("sizeof(netif_tx_response)", 4L);
    e.put("offsetof(netif_tx_response,id)", (long) Netif.TXRSP_ID);
    e.put("offsetof(netif_tx_response,status)", (long) Netif.TXRSP_STATUS);
    e.put("sizeof(netif_rx_request)", (long) Netif.RX_ENTRY_SIZE);
    e.put("offsetof(netif_rx_request,id)", (long) Netif.RXREQ_ID);
    e.put("offsetof(netif_rx_request,gref)", (long) Netif.RXREQ_GREF);
    e.put("sizeof(netif_rx_response)", (long) Netif.RX_ENTRY_SIZE);
    e.put("offsetof(netif_rx_response,id)", (long) Netif.RXRSP_ID);
    e.put("offsetof(netif_rx_response,offset)", (long) Netif.RXRSP_OFFSET);
    e.put("offsetof(netif_rx_response,flags)", (long) Netif.RXRSP_FLAGS);
    e.put("offsetof(netif_rx_response,status)", (long) Netif.RXRSP_STATUS);
    e.put("offsetof(netif_tx_sring,req_prod)", (long) Netif.SRING_REQ_PROD);
    e.put("offsetof(netif_tx_sring,req_event)", (long) Netif.SRING_REQ_EVENT);
    e.put("offsetof(netif_tx_sring,rsp_prod)", (long) Netif.SRING_RSP_PROD);
    e.put("offsetof(netif_tx_sring,rsp_event)", (long) Netif.SRING_RSP_EVENT);
    e.put("offsetof(netif_tx_sring,ring)", (long) Netif.SRING_RING);
    e.put("offsetof(netif_rx_sring,ring)", (long) Netif.SRING_RING);
    e.put("sizeof(netif_tx_entry)", (long) Netif.TX_ENTRY_SIZE);
    e.put("sizeof(netif_rx_entry)", (long) Netif.RX_ENTRY_SIZE);
    e.put("NETIF_RING_SIZE", (long) Netif.RING_SIZE);
    e.put("NETTXF_csum_blank", (long) Netif.NETTXF_CSUM_BLANK);
    e.put("NETTXF_data_validated", (long) Netif.NETTXF_DATA_VALIDATED);
    e.put("NETTXF_more_data", (long) Netif.NETTXF_MORE_DATA);
    e.put("NETTXF_extra_info", (long) Netif.NETTXF_EXTRA_INFO);
    e.put("NETRXF_data_validated", (long) Netif.NETRXF_DATA_VALIDATED);
    e.put("NETRXF_csum_blank", (long) Netif.NETRXF_CSUM_BLANK);
    e.put("NETRXF_more_data", (long) Netif.NETRXF_MORE_DATA);
    e.put("NETRXF_extra_info", (long) Netif.NETRXF_EXTRA_INFO);
    e.put("NETRXF_gso_prefix", (long) Netif.NETRXF_GSO_PREFIX);
    e.put("NETIF_RSP_DROPPED", (long) Netif.RSP_DROPPED);
    e.put("NETIF_RSP_ERROR", (long) Netif.RSP_ERROR);
    e.put("NETIF_RSP_OKAY", (long) Netif.RSP_OKAY);
    e.put("NETIF_RSP_NULL", (long) Netif.RSP_NULL);
    return e;
  }

  @Test
  void cHeadersMatchTheJavaAbi() throws Exception {
    Path sdk = GuestBuilder.defaultSdk();
    Path test = sdk.getParent().resolve("src/test/c/abi.c");
    Path elf = new GuestBuilder(sdk, sdk.getParent().resolve("target/guests"))
        .build("abi", List.of(test));
    GuestRun.Result r = GuestRun.run(elf, null);
    assertThat(r.exitStatus()).isZero();
    Map<String, Long> actual = new TreeMap<>();
    for (String line : r.console().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        actual.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
      }
    }
    assertThat(r.console()).endsWith("END\n");
    Map<String, Long> want = new TreeMap<>();
    for (Map.Entry<String, Long> en : expected().entrySet()) {
      // C prints ints: compare as 32-bit values.
      want.put(en.getKey(), (long) (int) (long) en.getValue());
    }
    assertThat(actual).containsExactlyInAnyOrderEntriesOf(want);
  }
}
