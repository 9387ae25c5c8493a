package org.hospes.x86;

import static org.hospes.x86.Cpu.EAX;

/** DAA DAS AAA AAS AAM AAD and SALC (SDM vol. 2 pseudocode; SALC is undocumented D6). */
final class Bcd {
  static final int DAA = 0, DAS = 1, AAA = 2, AAS = 3, AAM = 4, AAD = 5, SALC = 6;

  private Bcd() {}

  static void exec(Cpu c, int op, int imm) {
    int[] r = c.r;
    int f = c.eflags();
    int al = r[EAX] & 0xFF;
    int cf = f & Flags.CF;
    boolean af = (f & Flags.AF) != 0;
    switch (op) {
      case DAA: {
        int oldAl = al;
        int newCf = 0;
        int newAf = 0;
        if ((al & 0xF) > 9 || af) {
          al = (al + 6) & 0xFF;
          newCf = cf | (oldAl + 6 > 0xFF ? 1 : 0);
          newAf = Flags.AF;
        }
        if (oldAl > 0x99 || cf != 0) {
          al = (al + 0x60) & 0xFF;
          newCf = 1;
        }
        setAl(c, al);
        // OF is undefined; the Intel result follows the signed overflow of the adjustment.
        setSzp(c, f, al, newCf, newAf, ((oldAl ^ al) & al & 0x80) != 0);
        break;
      }
      case DAS: {
        int oldAl = al;
        int newCf = 0;
        int newAf = 0;
        if ((al & 0xF) > 9 || af) {
          newCf = cf | (al < 6 ? 1 : 0);
          al = (al - 6) & 0xFF;
          newAf = Flags.AF;
        }
        if (oldAl > 0x99 || cf != 0) {
          al = (al - 0x60) & 0xFF;
          newCf = 1;
        }
        setAl(c, al);
        setSzp(c, f, al, newCf, newAf, ((oldAl ^ al) & oldAl & 0x80) != 0);
        break;
      }
      case AAA:
      case AAS: {
        int ax = r[EAX] & 0xFFFF;
        int newF = f & ~Flags.STATUS;
        if ((al & 0xF) > 9 || af) {
          ax = op == AAA ? ax + 0x106 : ax - 0x106;
          newF |= Flags.AF | Flags.CF;
        }
        ax &= 0xFF0F;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | (ax & 0xFFFF);
        // SF, ZF, PF (undefined) follow the resulting AL.
        newF |= szp(ax & 0xFF);
        c.flags = newF;
        c.lfOp = Cpu.LF_NONE;
        break;
      }
      case AAM: {
        if (imm == 0) {
          c.raise(Exceptions.DE, 0);
        }
        int ah = al / imm;
        al = al % imm;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | ah << 8 | al;
        setSzp(c, f, al, 0, 0, false);
        break;
      }
      case AAD: {
        int ah = (r[EAX] >>> 8) & 0xFF;
        al = (al + ah * imm) & 0xFF;
        r[EAX] = (r[EAX] & 0xFFFF_0000) | al;
        // CF, AF and OF are undefined; they are left clear.
        setSzp(c, f, al, 0, 0, false);
        break;
      }
      default:
        setAl(c, cf != 0 ? 0xFF : 0);
        break;
    }
  }

  private static void setAl(Cpu c, int al) {
    c.r[EAX] = (c.r[EAX] & ~0xFF) | (al & 0xFF);
  }

  private static int szp(int v) {
    int res = 0;
    if ((v & 0xFF) == 0) {
      res |= Flags.ZF;
    }
    if ((v & 0x80) != 0) {
      res |= Flags.SF;
    }
    if (Integer.bitCount(v & 0xFF) % 2 == 0) {
      res |= Flags.PF;
    }
    return res;
  }

  private static void setSzp(Cpu c, int f, int al, int cf, int af, boolean of) {
    c.flags = (f & ~Flags.STATUS) | szp(al) | cf | af | (of ? Flags.OF : 0);
    c.lfOp = Cpu.LF_NONE;
  }
}
