/** Who follows someone, with follow buttons (follow-list.tsx). */
import { FollowList, followListMetadata, type FollowListProps } from '../follow-list';

export const generateMetadata = (props: FollowListProps) => followListMetadata(props, 'followers');

export default function FollowersPage(props: FollowListProps) {
  return <FollowList {...props} direction="followers" />;
}
