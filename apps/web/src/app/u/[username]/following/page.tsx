/** Whom someone follows, with follow buttons (follow-list.tsx). */
import { FollowList, followListMetadata, type FollowListProps } from '../follow-list';

export const generateMetadata = (props: FollowListProps) => followListMetadata(props, 'following');

export default function FollowingPage(props: FollowListProps) {
  return <FollowList {...props} direction="following" />;
}
