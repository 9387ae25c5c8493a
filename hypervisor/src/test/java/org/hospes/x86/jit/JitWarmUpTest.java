package org.hospes.x86.jit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.junit.jupiter.api.Test;

/** The made-up block the background warm-up translates, and the class files translations get. */
class JitWarmUpTest {
  @Test
  void theWarmUpBlockIsTranslatedWholeWithoutTheInterpretersHelp() {
    int[] code = Translator.warmUpBlock();
    int n = code.length / 4;
    assertThat(n).isEqualTo(7);
    // Without helpers (as under lockstep) too: every instruction has emitted code.
    assertThat(Translator.coverage(code, n, 0, false)).isEqualTo(n);
    assertThat(Translator.coverage(code, n, 0, true)).isEqualTo(n);
  }

  @Test
  void aTranslationIsAJava5ClassFileWithoutStackMapFrames() {
    int[] code = Translator.warmUpBlock();
    byte[] bytes = Translator.generate(code, 7, 0, 7, 12, false, true, false);
    ClassReader r = new ClassReader(bytes);
    assertThat(r.readShort(6)).as("major version").isEqualTo((short) 49);
    List<String> methods = new ArrayList<>();
    int[] frames = {0};
    r.accept(new ClassVisitor(Opcodes.ASM9) {
      @Override
      public MethodVisitor visitMethod(int access, String name, String descriptor,
          String signature, String[] exceptions) {
        methods.add(name + descriptor);
        return new MethodVisitor(Opcodes.ASM9) {
          @Override
          public void visitFrame(int type, int numLocal, Object[] local, int numStack,
              Object[] stack) {
            frames[0]++;
          }
        };
      }
    }, 0);
    assertThat(methods).contains("run(Lorg/hospes/x86/Cpu;)I", "<clinit>()V");
    assertThat(frames[0]).isZero();
  }
}
