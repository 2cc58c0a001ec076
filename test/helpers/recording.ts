// Bindings that note what passes through them and hand every call on to the real binding.
import { env } from "cloudflare:workers";
import type { QueueJob } from "../../src/reminders/jobs";

export function recordingQueue(queue: Queue<QueueJob> = env.EMAIL_QUEUE) {
  const sent: QueueJob[] = [];
  const binding = {
    send: (body: QueueJob, options?: QueueSendOptions) => {
      sent.push(body);
      return queue.send(body, options);
    },
    sendBatch: (messages: Iterable<MessageSendRequest<QueueJob>>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      sent.push(...list.map((m) => m.body));
      return queue.sendBatch(list, options);
    },
    metrics: () => queue.metrics(),
  } as unknown as Queue<QueueJob>;
  return { sent, binding };
}

export interface SentEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** The email binding, with an optional failure for the next `failures` sends. */
export function recordingEmail(failures = 0) {
  const sent: SentEmail[] = [];
  let toFail = failures;
  const binding = {
    send: async (message: SentEmail) => {
      if (toFail > 0) {
        toFail -= 1;
        throw new Error("send_email is unavailable");
      }
      sent.push(message);
      return env.EMAIL.send(message as never);
    },
  } as unknown as SendEmail;
  return { sent, binding };
}
