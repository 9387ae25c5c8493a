package org.hospes.dom0.devicemodel.e1000;

/**
 * Register offsets in the 82540EM's memory BAR and their bits, with the names and numbers of
 * the PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual (8254x),
 * chapter 13, and of Linux's e1000_hw.h.
 */
public final class E1000Registers {
  private E1000Registers() {}

  public static final int CTRL = 0x0000;
  public static final int STATUS = 0x0008;
  public static final int EECD = 0x0010;
  public static final int EERD = 0x0014;
  public static final int CTRL_EXT = 0x0018;
  public static final int MDIC = 0x0020;
  public static final int FCAL = 0x0028;
  public static final int FCAH = 0x002C;
  public static final int FCT = 0x0030;
  public static final int VET = 0x0038;
  public static final int ICR = 0x00C0;
  public static final int ITR = 0x00C4;
  public static final int ICS = 0x00C8;
  public static final int IMS = 0x00D0;
  public static final int IMC = 0x00D8;
  public static final int RCTL = 0x0100;
  public static final int FCTTV = 0x0170;
  public static final int TXCW = 0x0178;
  public static final int RXCW = 0x0180;
  public static final int TCTL = 0x0400;
  public static final int TIPG = 0x0410;
  public static final int LEDCTL = 0x0E00;
  public static final int PBA = 0x1000;
  public static final int FCRTL = 0x2160;
  public static final int FCRTH = 0x2168;
  public static final int RDBAL = 0x2800;
  public static final int RDBAH = 0x2804;
  public static final int RDLEN = 0x2808;
  public static final int RDH = 0x2810;
  public static final int RDT = 0x2818;
  public static final int RDTR = 0x2820;
  public static final int RXDCTL = 0x2828;
  public static final int RADV = 0x282C;
  public static final int RSRPD = 0x2C00;
  public static final int TDBAL = 0x3800;
  public static final int TDBAH = 0x3804;
  public static final int TDLEN = 0x3808;
  public static final int TDH = 0x3810;
  public static final int TDT = 0x3818;
  public static final int TIDV = 0x3820;
  public static final int TXDCTL = 0x3828;
  public static final int TADV = 0x382C;
  /** Statistics, 0x4000-0x40FF, cleared when read. */
  public static final int STATS_FIRST = 0x4000;
  public static final int STATS_END = 0x4100;
  public static final int MPC = 0x4010;
  public static final int GPRC = 0x4074;
  public static final int BPRC = 0x4078;
  public static final int MPRC = 0x407C;
  public static final int GPTC = 0x4080;
  public static final int GORCL = 0x4088;
  public static final int GORCH = 0x408C;
  public static final int GOTCL = 0x4090;
  public static final int GOTCH = 0x4094;
  public static final int RNBC = 0x40A0;
  public static final int TORL = 0x40C0;
  public static final int TORH = 0x40C4;
  public static final int TOTL = 0x40C8;
  public static final int TOTH = 0x40CC;
  public static final int TPR = 0x40D0;
  public static final int TPT = 0x40D4;
  public static final int MPTC = 0x40F0;
  public static final int BPTC = 0x40F4;
  public static final int TSCTC = 0x40F8;
  public static final int RXCSUM = 0x5000;
  /** Multicast table array: 128 doublewords. */
  public static final int MTA = 0x5200;
  /** Receive addresses: 16 pairs of RAL, RAH. */
  public static final int RA = 0x5400;
  /** VLAN filter table array: 128 doublewords. */
  public static final int VFTA = 0x5600;
  public static final int WUC = 0x5800;
  public static final int WUFC = 0x5808;
  public static final int WUS = 0x5810;
  public static final int MANC = 0x5820;

  // CTRL
  public static final int CTRL_FD = 1;
  public static final int CTRL_SLU = 1 << 6;
  public static final int CTRL_RST = 1 << 26;
  public static final int CTRL_VME = 1 << 30;
  public static final int CTRL_PHY_RST = 1 << 31;

  // STATUS
  public static final int STATUS_FD = 1;
  public static final int STATUS_LU = 1 << 1;
  public static final int STATUS_TXOFF = 1 << 4;
  public static final int STATUS_SPEED_1000 = 2 << 6;
  /** Auto-speed detection value: 1000 Mb/s. */
  public static final int STATUS_ASDV_1000 = 2 << 8;

  // EECD
  public static final int EECD_SK = 1;
  public static final int EECD_CS = 1 << 1;
  public static final int EECD_DI = 1 << 2;
  public static final int EECD_DO = 1 << 3;
  public static final int EECD_FWE_DISABLED = 1 << 4;
  public static final int EECD_REQ = 1 << 6;
  public static final int EECD_GNT = 1 << 7;
  public static final int EECD_PRES = 1 << 8;
  /** Software may write SK, CS, DI, FWE (bits 5:4) and REQ. */
  public static final int EECD_WRITABLE = EECD_SK | EECD_CS | EECD_DI | 0x30 | EECD_REQ;

  // EERD
  public static final int EERD_START = 1;
  public static final int EERD_DONE = 1 << 4;
  public static final int EERD_ADDR_SHIFT = 8;
  public static final int EERD_DATA_SHIFT = 16;

  // MDIC
  public static final int MDIC_REG_SHIFT = 16;
  public static final int MDIC_PHY_SHIFT = 21;
  public static final int MDIC_OP_WRITE = 1 << 26;
  public static final int MDIC_OP_READ = 2 << 26;
  public static final int MDIC_READY = 1 << 28;
  public static final int MDIC_INT_EN = 1 << 29;
  public static final int MDIC_ERROR = 1 << 30;

  // ICR, ICS, IMS, IMC
  public static final int ICR_TXDW = 1;
  public static final int ICR_TXQE = 1 << 1;
  public static final int ICR_LSC = 1 << 2;
  public static final int ICR_RXSEQ = 1 << 3;
  public static final int ICR_RXDMT0 = 1 << 4;
  public static final int ICR_RXO = 1 << 6;
  public static final int ICR_RXT0 = 1 << 7;
  public static final int ICR_MDAC = 1 << 9;
  public static final int ICR_TXD_LOW = 1 << 15;
  /** The cause bits the 82540EM has (bits 0-16 less the reserved 5 and 8). */
  public static final int ICR_VALID = 0x1FEDF;

  // RCTL
  public static final int RCTL_EN = 1 << 1;
  public static final int RCTL_SBP = 1 << 2;
  public static final int RCTL_UPE = 1 << 3;
  public static final int RCTL_MPE = 1 << 4;
  public static final int RCTL_LPE = 1 << 5;
  public static final int RCTL_RDMTS_SHIFT = 8;
  public static final int RCTL_MO_SHIFT = 12;
  public static final int RCTL_BAM = 1 << 15;
  public static final int RCTL_BSIZE_SHIFT = 16;
  public static final int RCTL_VFE = 1 << 18;
  public static final int RCTL_BSEX = 1 << 25;
  public static final int RCTL_SECRC = 1 << 26;

  // TCTL
  public static final int TCTL_EN = 1 << 1;
  public static final int TCTL_PSP = 1 << 3;

  // RXCSUM
  public static final int RXCSUM_IPOFLD = 1 << 8;
  public static final int RXCSUM_TUOFLD = 1 << 9;

  /** RAH's Address Valid bit. */
  public static final int RAH_AV = 1 << 31;

  // Receive descriptor status and errors
  public static final int RXD_STAT_DD = 0x01;
  public static final int RXD_STAT_EOP = 0x02;
  public static final int RXD_STAT_IXSM = 0x04;
  public static final int RXD_STAT_VP = 0x08;
  public static final int RXD_STAT_TCPCS = 0x20;
  public static final int RXD_STAT_IPCS = 0x40;
  public static final int RXD_ERR_TCPE = 0x20;
  public static final int RXD_ERR_IPE = 0x40;

  // Transmit descriptor command byte (bits 31:24 of the third doubleword)
  public static final int TXD_CMD_EOP = 0x01;
  public static final int TXD_CMD_IFCS = 0x02;
  public static final int TXD_CMD_IC = 0x04;
  /** In a data descriptor: TCP segmentation. */
  public static final int TXD_CMD_TSE = 0x04;
  public static final int TXD_CMD_RS = 0x08;
  public static final int TXD_CMD_DEXT = 0x20;
  public static final int TXD_CMD_VLE = 0x40;
  // In a context descriptor's TUCMD
  public static final int TUCMD_TCP = 0x01;
  public static final int TUCMD_IP = 0x02;
  public static final int TUCMD_TSE = 0x04;
  public static final int TXD_DTYP_CONTEXT = 0;
  public static final int TXD_DTYP_DATA = 1;
  public static final int TXD_POPTS_IXSM = 0x01;
  public static final int TXD_POPTS_TXSM = 0x02;
  public static final int TXD_STAT_DD = 0x01;
}
