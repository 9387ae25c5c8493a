/* Prints the SDK's ABI: sizes, offsets and constants, as NAME=value lines,
 * for AbiConsistencyTest to compare with the Java definitions. */
#include <hospes/guest.h>
#include <hospes/grant.h>
#include <hospes/netfront.h>

#define V(name, value) printf("%s=%d\n", name, (int)(value))
#define SZ(t) V("sizeof(" #t ")", sizeof(struct t))
#define OFF(t, f) V("offsetof(" #t "," #f ")", __builtin_offsetof(struct t, f))
#define C(n) V(#n, n)

int main(const struct hvm_start_info *si)
{
    (void)si;
    C(__HYPERVISOR_memory_op); C(__HYPERVISOR_xen_version); C(__HYPERVISOR_console_io);
    C(__HYPERVISOR_grant_table_op); C(__HYPERVISOR_vcpu_op); C(__HYPERVISOR_sched_op);
    C(__HYPERVISOR_event_channel_op); C(__HYPERVISOR_hvm_op);
    C(XEN_EPERM); C(XEN_ENOENT); C(XEN_EIO); C(XEN_E2BIG); C(XEN_EAGAIN); C(XEN_ENOMEM);
    C(XEN_EACCES); C(XEN_EFAULT); C(XEN_EBUSY); C(XEN_EEXIST); C(XEN_EINVAL); C(XEN_ENOSPC);
    C(XEN_EROFS); C(XEN_ENOSYS); C(XEN_ENOTEMPTY); C(XEN_EISCONN);
    C(DOMID_SELF);
    C(XEN_CPUID_FIRST_LEAF); C(XEN_CPUID_SIGNATURE_EBX); C(XEN_CPUID_SIGNATURE_ECX);
    C(XEN_CPUID_SIGNATURE_EDX);
    C(XENVER_version); C(XENVER_extraversion); C(XENVER_get_features);
    C(SCHEDOP_yield); C(SCHEDOP_block); C(SCHEDOP_shutdown);
    C(SHUTDOWN_poweroff); C(SHUTDOWN_reboot); C(SHUTDOWN_crash);
    C(EVTCHNOP_bind_interdomain); C(EVTCHNOP_bind_virq); C(EVTCHNOP_close); C(EVTCHNOP_send);
    C(EVTCHNOP_status); C(EVTCHNOP_alloc_unbound); C(EVTCHNOP_bind_ipi); C(EVTCHNOP_bind_vcpu);
    C(EVTCHNOP_unmask);
    C(EVTCHNSTAT_closed); C(EVTCHNSTAT_unbound); C(EVTCHNSTAT_interdomain); C(EVTCHNSTAT_virq);
    C(EVTCHNSTAT_ipi); C(VIRQ_TIMER); C(VIRQ_DEBUG); C(VIRQ_CONSOLE); C(NR_EVENT_CHANNELS);
    SZ(evtchn_alloc_unbound); OFF(evtchn_alloc_unbound, dom);
    OFF(evtchn_alloc_unbound, remote_dom); OFF(evtchn_alloc_unbound, port);
    SZ(evtchn_bind_interdomain); OFF(evtchn_bind_interdomain, remote_dom);
    OFF(evtchn_bind_interdomain, remote_port); OFF(evtchn_bind_interdomain, local_port);
    SZ(evtchn_bind_virq); OFF(evtchn_bind_virq, virq); OFF(evtchn_bind_virq, vcpu);
    OFF(evtchn_bind_virq, port);
    SZ(evtchn_bind_ipi); OFF(evtchn_bind_ipi, vcpu); OFF(evtchn_bind_ipi, port);
    SZ(evtchn_send); SZ(evtchn_close); SZ(evtchn_unmask);
    SZ(evtchn_status); OFF(evtchn_status, dom); OFF(evtchn_status, port);
    OFF(evtchn_status, status); OFF(evtchn_status, vcpu); OFF(evtchn_status, u);
    C(HVMOP_set_param); C(HVMOP_get_param);
    SZ(xen_hvm_param); OFF(xen_hvm_param, domid); OFF(xen_hvm_param, index);
    OFF(xen_hvm_param, value);
    C(HVM_PARAM_CALLBACK_IRQ); C(HVM_PARAM_STORE_PFN); C(HVM_PARAM_STORE_EVTCHN);
    C(HVM_PARAM_CONSOLE_PFN); C(HVM_PARAM_CONSOLE_EVTCHN); C(HVM_PARAM_CALLBACK_TYPE_VECTOR);
    C(XENMEM_current_reservation); C(XENMEM_add_to_physmap); C(XENMEM_memory_map);
    C(XENMAPSPACE_shared_info); C(XENMAPSPACE_grant_table);
    SZ(xen_add_to_physmap); OFF(xen_add_to_physmap, domid); OFF(xen_add_to_physmap, space);
    OFF(xen_add_to_physmap, idx); OFF(xen_add_to_physmap, gpfn);
    SZ(vcpu_time_info); OFF(vcpu_time_info, version); OFF(vcpu_time_info, tsc_timestamp);
    OFF(vcpu_time_info, system_time); OFF(vcpu_time_info, tsc_to_system_mul);
    OFF(vcpu_time_info, tsc_shift); OFF(vcpu_time_info, flags);
    SZ(vcpu_info); OFF(vcpu_info, evtchn_upcall_pending); OFF(vcpu_info, evtchn_upcall_mask);
    OFF(vcpu_info, evtchn_pending_sel); OFF(vcpu_info, arch); OFF(vcpu_info, time);
    SZ(shared_info); OFF(shared_info, evtchn_pending); OFF(shared_info, evtchn_mask);
    OFF(shared_info, wc_version); OFF(shared_info, wc_sec); OFF(shared_info, wc_nsec);
    OFF(shared_info, arch); OFF(shared_info, wc_sec_hi);
    SZ(xsd_sockmsg); OFF(xsd_sockmsg, type); OFF(xsd_sockmsg, req_id); OFF(xsd_sockmsg, tx_id);
    OFF(xsd_sockmsg, len);
    C(XENSTORE_PAYLOAD_MAX); C(XENSTORE_RING_SIZE);
    C(XS_DIRECTORY); C(XS_READ); C(XS_GET_PERMS); C(XS_WATCH); C(XS_UNWATCH);
    C(XS_TRANSACTION_START); C(XS_TRANSACTION_END); C(XS_INTRODUCE); C(XS_RELEASE);
    C(XS_GET_DOMAIN_PATH); C(XS_WRITE); C(XS_MKDIR); C(XS_RM); C(XS_SET_PERMS);
    C(XS_WATCH_EVENT); C(XS_ERROR); C(XS_IS_DOMAIN_INTRODUCED); C(XS_RESET_WATCHES);
    C(XS_DIRECTORY_PART);
    OFF(xenstore_domain_interface, req); OFF(xenstore_domain_interface, rsp);
    OFF(xenstore_domain_interface, req_cons); OFF(xenstore_domain_interface, req_prod);
    OFF(xenstore_domain_interface, rsp_cons); OFF(xenstore_domain_interface, rsp_prod);
    OFF(xenstore_domain_interface, server_features);
    OFF(xenstore_domain_interface, connection); OFF(xenstore_domain_interface, error);
    OFF(xenstore_domain_interface, evtchn_port);
    OFF(xencons_interface, in); OFF(xencons_interface, out); OFF(xencons_interface, in_cons);
    OFF(xencons_interface, in_prod); OFF(xencons_interface, out_cons);
    OFF(xencons_interface, out_prod);
    C(XEN_HVM_START_MAGIC_VALUE);
    SZ(hvm_start_info); OFF(hvm_start_info, magic); OFF(hvm_start_info, version);
    OFF(hvm_start_info, flags); OFF(hvm_start_info, nr_modules);
    OFF(hvm_start_info, modlist_paddr); OFF(hvm_start_info, cmdline_paddr);
    OFF(hvm_start_info, rsdp_paddr); OFF(hvm_start_info, memmap_paddr);
    OFF(hvm_start_info, memmap_entries);
    SZ(hvm_memmap_table_entry);
    C(XEN_ETIME);
    C(VCPUOP_set_singleshot_timer); C(VCPUOP_stop_singleshot_timer); C(VCPU_SSHOTTMR_future);
    SZ(vcpu_set_singleshot_timer); OFF(vcpu_set_singleshot_timer, timeout_abs_ns);
    OFF(vcpu_set_singleshot_timer, flags);
    C(GNTTABOP_map_grant_ref); C(GNTTABOP_unmap_grant_ref); C(GNTTABOP_setup_table);
    C(GNTTABOP_copy); C(GNTTABOP_query_size); C(GNTTABOP_set_version); C(GNTTABOP_get_version);
    C(GTF_permit_access); C(GTF_readonly); C(GTF_reading); C(GTF_writing);
    C(GNTMAP_host_map); C(GNTMAP_readonly); C(GNTCOPY_source_gref); C(GNTCOPY_dest_gref);
    C(GNTST_okay); C(GNTST_general_error); C(GNTST_bad_domain); C(GNTST_bad_gntref);
    C(GNTST_bad_handle); C(GNTST_permission_denied); C(GNTST_bad_page); C(GNTST_eagain);
    C(GNTTAB_ENTRIES_PER_FRAME); C(GNTTAB_NR_RESERVED_ENTRIES);
    SZ(grant_entry_v1); OFF(grant_entry_v1, flags); OFF(grant_entry_v1, domid);
    OFF(grant_entry_v1, frame);
    SZ(gnttab_map_grant_ref); OFF(gnttab_map_grant_ref, host_addr);
    OFF(gnttab_map_grant_ref, flags); OFF(gnttab_map_grant_ref, ref);
    OFF(gnttab_map_grant_ref, dom); OFF(gnttab_map_grant_ref, status);
    OFF(gnttab_map_grant_ref, handle); OFF(gnttab_map_grant_ref, dev_bus_addr);
    SZ(netif_tx_request); OFF(netif_tx_request, gref); OFF(netif_tx_request, offset);
    OFF(netif_tx_request, flags); OFF(netif_tx_request, id); OFF(netif_tx_request, size);
    SZ(netif_tx_response); OFF(netif_tx_response, id); OFF(netif_tx_response, status);
    SZ(netif_rx_request); OFF(netif_rx_request, id); OFF(netif_rx_request, gref);
    SZ(netif_rx_response); OFF(netif_rx_response, id); OFF(netif_rx_response, offset);
    OFF(netif_rx_response, flags); OFF(netif_rx_response, status);
    OFF(netif_tx_sring, req_prod); OFF(netif_tx_sring, req_event); OFF(netif_tx_sring, rsp_prod);
    OFF(netif_tx_sring, rsp_event); OFF(netif_tx_sring, ring); OFF(netif_rx_sring, ring);
    V("sizeof(netif_tx_entry)", sizeof(union netif_tx_entry));
    V("sizeof(netif_rx_entry)", sizeof(union netif_rx_entry));
    C(NETIF_RING_SIZE); C(NETTXF_csum_blank); C(NETTXF_data_validated); C(NETTXF_more_data);
    C(NETTXF_extra_info); C(NETRXF_data_validated); C(NETRXF_csum_blank); C(NETRXF_more_data);
    C(NETRXF_extra_info); C(NETRXF_gso_prefix); C(NETIF_RSP_DROPPED); C(NETIF_RSP_ERROR);
    C(NETIF_RSP_OKAY); C(NETIF_RSP_NULL);
    printf("END\n");
    return 0;
}
